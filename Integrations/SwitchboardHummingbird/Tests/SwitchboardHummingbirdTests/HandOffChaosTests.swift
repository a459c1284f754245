import Foundation
import HummingbirdTestSupport
import Testing

/// Clients that break off at every step of a hand-off (mid-head, right
/// after the head, during a slow authentication, right after the 101, in
/// the middle of a frame), with resets and plain closes, while others
/// complete theirs. Afterwards the app answers, the well-behaved clients
/// got their echoes, and only the listeners are left on the app's port.
@Suite("Hummingbird hand-off against clients that break off")
struct HandOffChaosTests {
    enum Script: CaseIterable {
        case resetMidHead, resetAfterHead, closeAfterHead, resetAfterHeadWithFrames,
             resetDuringRefusal, resetAfterUpgrade, resetMidFrame, wellBehaved
    }

    static let seed = UInt64(ProcessInfo.processInfo.environment["CHAOS_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)

    @Test func everyBreakOffLeavesTheAppServingAndNothingOpen() async throws {
        raiseFileLimit()
        try await HummingbirdHost.with { host in
            let port = host.port
            let listeners = socketsOnPort(port).count
            let seed = Self.seed
            print("hand-off chaos: seed \(seed) (replay: CHAOS_SEED=\(seed))")
            let results = Guarded<(counts: [String: Int], failures: [String])>(([:], []))
            try await onOwnThread {
                DispatchQueue.concurrentPerform(iterations: 4) { thread in
                    var generator = SeededGenerator(seed: seed &+ UInt64(thread))
                    for index in 0..<250 {
                        let script = Script.allCases[Int(generator.below(UInt64(Script.allCases.count)))]
                        do {
                            try Self.run(script, port: port, tag: "\(thread)-\(index)")
                            results.withLock { $0.counts["\(script)", default: 0] += 1 }
                        } catch {
                            results.withLock { $0.failures.append("\(script) \(thread)-\(index): \(error)") }
                        }
                    }
                }
            }
            let (counts, failures) = results.withLock { $0 }
            print("hand-off chaos: \(counts)")
            #expect(failures.isEmpty, "seed \(seed): \(failures.prefix(5))")
            let health = try await onOwnThread { try TestSocket(port: port).exchange("GET /health HTTP/1.1\r\nHost: t\r\n\r\n") }
            #expect(health.status == 200)
            let drained = await eventually(seconds: 20) { socketsOnPort(port).count == listeners }
            #expect(drained, "seed \(seed): sockets on the app's port: \(socketsOnPort(port).count), listeners \(listeners)")
        }
    }

    static func run(_ script: Script, port: Int, tag: String) throws {
        let socket = try TestSocket(port: port)
        let request = Array(TestWebSocket.upgradeRequest(path: "/echo").utf8)
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
            // The app's middleware refuses; the client is gone before or while it answers.
            try socket.send(TestWebSocket.upgradeRequest(path: "/private/greet"))
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
