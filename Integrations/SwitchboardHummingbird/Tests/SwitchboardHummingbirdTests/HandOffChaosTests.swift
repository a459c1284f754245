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
    @Test func everyBreakOffLeavesTheAppServingAndNothingOpen() async throws {
        raiseFileLimit()
        try await HummingbirdHost.with { host in
            let port = host.port
            let listeners = socketsOnPort(port).count
            let seed = HandOffChaos.seed
            print("hand-off chaos: seed \(seed) (replay: CHAOS_SEED=\(seed))")
            let (counts, failures) = try await onOwnThread { HandOffChaos.run(port: port, echoPath: "/echo", refusedPath: "/private/greet") }
            print("hand-off chaos: \(counts)")
            #expect(failures.isEmpty, "seed \(seed): \(failures.prefix(5))")
            let health = try await onOwnThread { try TestSocket(port: port).exchange("GET /health HTTP/1.1\r\nHost: t\r\n\r\n") }
            #expect(health.status == 200)
            let drained = await eventually(seconds: 20) { socketsOnPort(port).count == listeners }
            #expect(drained, "seed \(seed): sockets on the app's port: \(socketsOnPort(port).count), listeners \(listeners)")
        }
    }
}
