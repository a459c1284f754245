import Foundation
import Glibc
import HummingbirdTestSupport

/// One of this package's example executables, started as a user starts it,
/// on port 0: the test reads the real port from Hummingbird's "listening
/// on HOST:PORT" log line. `swift build --build-tests` builds the examples.
final class ExampleProcess {
    let process = Process()
    let port: Int
    private let output = Pipe()

    init(_ name: String) throws {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = FileManager.default.isExecutableFile(atPath: besideTests.path)
            ? besideTests : root.appendingPathComponent(".build/debug/\(name)")
        process.executableURL = binary
        process.environment = ProcessInfo.processInfo.environment.merging(["PORT": "0"]) { _, new in new }
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
            for line in log.split(separator: "\n") {
                guard let range = line.range(of: "listening on ") else { continue }
                if let port = line[range.upperBound...].split(separator: ":").last.flatMap({ Int($0.prefix { $0.isNumber }) }) {
                    return port
                }
            }
        }
        return nil
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
    }
}
