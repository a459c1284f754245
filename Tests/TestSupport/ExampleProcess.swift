public import Foundation
import Glibc

/// One of the package's example executables, started as its own process
/// the way a user starts it.
///
/// It binds port 0 itself and the test reads the real port from its log
/// ("address=HOST:PORT … listening", or Hummingbird's "listening on
/// HOST:PORT"): a port picked by the test and released before the example
/// binds it could be taken meanwhile by one of the many client sockets
/// other tests open. `swift build --build-tests` builds the examples beside
/// the tests. Sendable: its fields are set once in `init`, and `Process`
/// may be read from any thread.
public final class ExampleProcess: @unchecked Sendable {
    public let process = Process()
    public let port: Int
    private let output = Pipe()

    /// `descriptorLimit` starts it under `ulimit -n` that many.
    public init(_ name: String, environment: [String: String] = [:], descriptorLimit: Int? = nil) throws {
        // Beside the test bundle, whatever the scratch path; else the default build folder.
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
        let binary = FileManager.default.isExecutableFile(atPath: besideTests.path)
            ? besideTests : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/\(name)")
        if let descriptorLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(descriptorLimit) && exec \"$0\"", binary.path]
        } else {
            process.executableURL = binary
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            .merging(["PORT": "0"]) { _, new in new }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        guard let port = Self.readListeningPort(from: output.fileHandleForReading.fileDescriptor, seconds: 60) else {
            process.terminate()
            process.waitUntilExit()
            throw TestSocket.Failure(description: "\(name) at \(binary.path) did not report a listening address")
        }
        self.port = port
        // Keep draining its log so the example never blocks on a full pipe.
        output.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
    }

    /// Reads the log until a "listening" line names a port.
    private static func readListeningPort(from fd: Int32, seconds: Int) -> Int? {
        var log = ""
        let deadline = ContinuousClock.now + .seconds(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return nil }  // the process ended
            log += String(decoding: buffer[0..<count], as: UTF8.self)
            for line in log.split(separator: "\n") where line.contains("listening") {
                if let port = port(in: line) { return port }
            }
        }
        return nil
    }

    private static func port(in line: Substring) -> Int? {
        let address = line.split(separator: " ").first { $0.hasPrefix("address=") }
            ?? line.range(of: "listening on ").map { line[$0.upperBound...].prefix { $0 != " " } }
        return address?.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) }
    }

    /// CPU time the process has used (user and system), in clock ticks.
    public func cpuTicks() -> Int {
        let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
        // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th of them.
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        return fields.count > 12 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
    }

    /// The process's resident memory (VmRSS), in bytes.
    public func residentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    public func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
    }
}
