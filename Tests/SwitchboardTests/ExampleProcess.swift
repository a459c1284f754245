import Foundation
import Glibc
import TestSupport

/// One of the package's example executables (BenchHost, ChatRoom, Ticker),
/// started as its own process on a free port, the way a user starts it.
/// `swift build --build-tests` builds the examples beside the tests.
final class ExampleProcess {
    let process = Process()
    let port: Int

    init(_ name: String, environment: [String: String] = [:]) throws {
        // The examples are built beside the test bundle (whatever the
        // scratch path); fall back to the default build folder.
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = FileManager.default.isExecutableFile(atPath: besideTests.path)
            ? besideTests : root.appendingPathComponent(".build/debug/\(name)")
        port = try TestSocketPort.free()
        process.executableURL = binary
        process.environment = environment.merging(["PORT": "\(port)"]) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            if let socket = try? TestSocket(port: port),
               (try? socket.exchange("GET /health HTTP/1.1\r\nHost: t\r\n\r\n").status) == 200 {
                return
            }
            usleep(50_000)
        }
        process.terminate()
        throw TestSocket.Failure(description: "\(name) at \(binary.path) did not answer /health")
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
    }
}
