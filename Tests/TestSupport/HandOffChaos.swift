import Dispatch
import Foundation

/// Clients that break off at every step of a hand-off (mid-head, right
/// after the head, during a refusal, right after the 101, in the middle of
/// a frame), with resets and plain closes, while others complete theirs:
/// 1,000 of them from a seed (`CHAOS_SEED` replays a run). Shared by the
/// hosts' tests (Hummingbird, Vapor).
public enum HandOffChaos {
    public enum Script: CaseIterable, Sendable {
        case resetMidHead, resetAfterHead, closeAfterHead, resetAfterHeadWithFrames,
             resetDuringRefusal, resetAfterUpgrade, resetMidFrame, wellBehaved
    }

    public static let seed = UInt64(ProcessInfo.processInfo.environment["CHAOS_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)

    /// Runs 4 × 250 seeded scripts against `port`: `echoPath` echoes,
    /// `refusedPath` is refused by the host. Returns how many of each ran,
    /// and what failed (a well-behaved client without its echo, an upgrade
    /// without its 101).
    public static func run(port: Int, echoPath: String, refusedPath: String) -> (counts: [String: Int], failures: [String]) {
        let results = Guarded<(counts: [String: Int], failures: [String])>(([:], []))
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            var generator = SeededGenerator(seed: seed &+ UInt64(thread))
            for index in 0..<250 {
                let script = Script.allCases[Int(generator.below(UInt64(Script.allCases.count)))]
                do {
                    try run(script, port: port, echoPath: echoPath, refusedPath: refusedPath, tag: "\(thread)-\(index)")
                    results.withLock { $0.counts["\(script)", default: 0] += 1 }
                } catch {
                    results.withLock { $0.failures.append("\(script) \(thread)-\(index): \(error)") }
                }
            }
        }
        return results.withLock { $0 }
    }

    static func run(_ script: Script, port: Int, echoPath: String, refusedPath: String, tag: String) throws {
        let socket = try TestSocket(port: port)
        let request = Array(TestWebSocket.upgradeRequest(path: echoPath).utf8)
        switch script {
        case .resetMidHead:
            try socket.send(Array(request.prefix(request.count / 2)))
            socket.resetClose()
        case .resetAfterHead:
            try socket.send(request)
            socket.resetClose()
        case .closeAfterHead:
            try socket.send(request)
            socket.close()
        case .resetAfterHeadWithFrames:
            try socket.send(request + clientText("lost \(tag)") + clientText("lost too"))
            socket.resetClose()
        case .resetDuringRefusal:
            // The host refuses; the client is gone before or while it answers.
            try socket.send(TestWebSocket.upgradeRequest(path: refusedPath))
            socket.resetClose()
        case .resetAfterUpgrade:
            try socket.send(request)
            guard try socket.receiveHead().status == 101 else { throw TestSocket.Failure(description: "no 101") }
            socket.resetClose()
        case .resetMidFrame:
            try socket.send(request + Array(clientText("cut \(tag)").prefix(5)))
            _ = try? socket.receiveHead()
            socket.resetClose()
        case .wellBehaved:
            try socket.send(request + clientText("echo \(tag)"))
            let upgraded = TestWebSocket(upgraded: socket, response: try socket.receiveHead())
            guard upgraded.response.status == 101 else { throw TestSocket.Failure(description: "status \(upgraded.response.status)") }
            let echo = try upgraded.receiveNonPing().text
            guard echo == "echo \(tag)" else { throw TestSocket.Failure(description: "echo \(echo)") }
            socket.close()
        }
    }
}
