import Foundation
import HummingbirdTestSupport
import Switchboard
import SwitchboardHummingbird
import Testing

/// Hummingbird and Switchboard in one `ServiceGroup`: they stop together.
@Suite("Hummingbird and Switchboard shut down together")
struct ShutdownTests {
    @Test func gracefulShutdownSendsEveryWebSocket1001AndStopsBoth() async throws {
        let host = try await HummingbirdHost.start()
        let port = host.port
        let clients = try await onOwnThread { try (0..<20).map { _ in try TestWebSocket(port: port, path: "/topic/news") } }
        let started = ContinuousClock.now
        // What SIGTERM does to a group that listens for it.
        try await host.stop()
        let took = ContinuousClock.now - started
        let codes = try await onOwnThread { try clients.map { try $0.receiveNonPing().closeCode } }
        #expect(codes.allSatisfy { $0 == 1001 }, "\(codes)")
        // Switchboard's grace period is 5 s; nothing waited for it.
        #expect(took < .seconds(5), "shutdown took \(took)")
        #expect(socketsOnPort(port).isEmpty, "sockets left on the app's port: \(socketsOnPort(port).count)")
        #expect(throws: TestSocket.Failure.self) { try TestSocket(port: port) }
    }

    @Test func upgradesDuringAGracefulShutdownAreAnsweredOrRefusedNeverHung() async throws {
        let host = try await HummingbirdHost.start()
        let port = host.port
        // Clients keep upgrading while the group shuts down: each gets a
        // 101 (and then 1001), a closed connection, or a refused connect.
        let attempts = Task.detached { () -> [String: Int] in
            var outcomes: [String: Int] = [:]
            for _ in 0..<2_000 {
                guard let socket = try? TestSocket(port: port) else {
                    outcomes["refused", default: 0] += 1
                    break
                }
                socket.timeoutMilliseconds = 10_000
                let outcome: String
                do {
                    let response = try TestWebSocket.handshake(socket, path: "/echo")
                    outcome = response.status == 101 ? "upgraded" : "status \(response.status)"
                } catch {
                    outcome = socket.isClosedByPeer() ? "closed" : "\(error)"
                }
                outcomes[outcome, default: 0] += 1
            }
            return outcomes
        }
        try await Task.sleep(for: .milliseconds(50))
        try await host.stop()
        let outcomes = await attempts.value
        print("upgrades during shutdown: \(outcomes)")
        #expect(Set(outcomes.keys).isSubset(of: ["upgraded", "closed", "refused", "status 503"]), "\(outcomes)")
        #expect(outcomes["upgraded", default: 0] > 0)
    }

    /// Switchboard stopped by someone else: its `run()` throws, so the
    /// app's group ends (and says why) instead of serving upgrades it can
    /// no longer take.
    @Test func switchboardStoppingByItselfEndsTheAppsGroup() async throws {
        let host = try await HummingbirdHost.start()
        try await host.switchboard.stop()
        await #expect(throws: ServerError.self) { try await host.waitUntilStopped() }
    }
}
