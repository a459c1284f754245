import Foundation
import Glibc
import TestSupport

/// One of the package's example executables (BenchHost, ChatRoom, Ticker),
/// started as its own process the way a user starts it.
///
/// It binds port 0 itself and the test reads the real port from its
/// "listening" log line: a port picked by the test and released before the
/// example binds it could be taken meanwhile by one of the many client
/// sockets other tests open. `swift build --build-tests` builds the
/// examples beside the tests.
final class ExampleProcess {
    let process = Process()
    let port: Int
    private let errors = Pipe()

    init(_ name: String, environment: [String: String] = [:]) throws {
        // Beside the test bundle, whatever the scratch path; else the default build folder.
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = FileManager.default.isExecutableFile(atPath: besideTests.path)
            ? besideTests : root.appendingPathComponent(".build/debug/\(name)")
        process.executableURL = binary
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            .merging(["PORT": "0"]) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        guard let port = Self.readListeningPort(from: errors.fileHandleForReading.fileDescriptor, seconds: 60) else {
            process.terminate()
            process.waitUntilExit()
            throw TestSocket.Failure(description: "\(name) at \(binary.path) did not report a listening address")
        }
        self.port = port
        // Keep draining its log so the example never blocks on a full pipe.
        errors.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
    }

    /// Reads the log until a line with `address=HOST:PORT ... listening`.
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
                if let address = line.split(separator: " ").first(where: { $0.hasPrefix("address=") }),
                   let port = address.split(separator: ":").last.flatMap({ Int($0) }) {
                    return port
                }
            }
        }
        return nil
    }

    /// The process's resident memory (VmRSS), in bytes.
    func residentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        errors.fileHandleForReading.readabilityHandler = nil
    }
}
