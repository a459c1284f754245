import Foundation
import Glibc
import Testing
import TestSupport
@testable import Switchboard

func withPubSubServer(_ body: (Server, Int) throws -> Void) throws {
    try withServer(loops: 2, routes: { _ in }) { server, port in
        try body(server, port)
    }
}

/// Serialized: the two 10,000-connection tests would otherwise churn
/// through loopback ports at the same time.
@Suite("Pub/sub over real sockets", .serialized)
struct PubSubTests {
    static func server() -> Server {
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2))
        server.webSocket("/topic", configuration: WebSocketConfiguration(origins: .any), handler: TopicHandler(pubsub: server.pubsub))
        return server
    }

    @Test func everySubscriberOnEveryLoopGetsEveryMessageInOrder() throws {
        let server = Self.server()
        let port = try server.start().port
        defer { try? server.stop() }
        // 16: the kernel spreads connections over the loops' sockets by a
        // hash, so with 6 all landed on one loop in about one run in 30.
        let subscribers = try (0..<16).map { _ in try TestWebSocket(port: port, path: "/topic?topic=news") }
        let other = try TestWebSocket(port: port, path: "/topic?topic=sports")
        #expect(eventually { server.pubsub.subscriberCount(of: "news") == 16 })
        #expect(server.pubsub.topicCount == 2)
        // Connections are spread over both loops.
        #expect(server.group!.loops.allSatisfy { $0.acceptedConnectionCount > 0 })
        // Two publishing threads at once: both orders interleave, but every
        // subscriber must see the same interleaving.
        // Real threads: the cooperative pool may be busy with blocking tests.
        for thread in 0..<2 {
            Thread.detachNewThread {
                for index in 0..<500 { server.pubsub.publish("news", text: "\(thread):\(index)") }
            }
        }
        var sequences: [[String]] = []
        for subscriber in subscribers {
            var received: [String] = []
            for _ in 0..<1_000 { received.append(try subscriber.receiveNonPing().text) }
            sequences.append(received)
        }
        for sequence in sequences {
            #expect(sequence == sequences[0])
            for thread in 0..<2 {
                #expect(sequence.filter { $0.hasPrefix("\(thread):") } == (0..<500).map { "\(thread):\($0)" })
            }
        }
        // Topic isolation: nothing of "news" reached "sports".
        #expect(server.pubsub.publish("sports", text: "goal") == 1)
        #expect(try other.receiveNonPing().text == "goal")
        #expect(server.pubsub.publish("nobody", text: "x") == 0)
    }

    @Test func unsubscribeAndCloseRemoveSubscriptions() throws {
        let server = Self.server()
        let port = try server.start().port
        defer { try? server.stop() }
        let client = try TestWebSocket(port: port, path: "/topic?topic=a")
        try client.send(text: "sub b")
        #expect(try client.receiveNonPing().text == "subscribed")
        #expect(server.pubsub.topicCount == 2)
        try client.send(text: "unsub a")
        #expect(try client.receiveNonPing().text == "unsubscribed")
        #expect(server.pubsub.subscriberCount(of: "a") == 0)
        #expect(server.pubsub.publish("b", text: "still b") == 1)
        #expect(try client.receiveNonPing().text == "still b")
        try client.send(opcode: .close, [0x03, 0xE8])
        #expect(client.socket.isClosedByPeer())
        #expect(eventually { server.pubsub.topicCount == 0 })
    }

    // A minute of blocking socket calls: on a thread of its own (onOwnThread).
    @Test func tenThousandConnectSubscribeCloseCyclesLeaveNothingBehind() async throws {
        raiseFileLimit()
        let server = Self.server()
        let port = try server.start().port
        let group = server.group!
        defer { try? server.stop() }
        try await onOwnThread {
            var batch: [TestWebSocket] = []
            for cycle in 0..<10_000 {
                batch.append(try TestWebSocket(port: port, path: "/topic?topic=t\(cycle % 500)", sourceHost: "127.0.0.\(1 + cycle % 50)"))
                if batch.count == 100 {
                    // Half leave with a close frame, half just drop the TCP connection.
                    for (index, client) in batch.enumerated() where index.isMultiple(of: 2) {
                        try client.send(opcode: .close, [0x03, 0xE8])
                    }
                    batch.removeAll()
                }
            }
        }
        #expect(await eventually(seconds: 10) { server.pubsub.topicCount == 0 }, "topics left: \(server.pubsub.topicCount)")
        #expect(await eventually(seconds: 10) { group.loops.allSatisfy { $0.liveConnectionCount == 0 } })
    }
}

extension PubSubTests {
    /// The same cycles against a BenchHost process of its own, whose
    /// resident memory nothing else in the test run can disturb: after
    /// 10,000 connections came and went it must be back near its baseline
    /// (a leak of even 1 KiB per connection would show as 10 MB).
    @Test func serverMemoryReturnsToBaselineAfterTenThousandCycles() async throws {
        raiseFileLimit()
        let host = try ExampleProcess("BenchHost")
        defer { host.stop() }
        let port = host.port
        // A minute of blocking socket calls: on a thread of its own.
        @Sendable func cycles(_ count: Int, topic: String) async throws {
            try await onOwnThread {
                for cycle in 0..<count {
                    let client = try TestWebSocket(port: port, path: "/topic/\(topic)\(cycle % 500)", sourceHost: "127.0.0.\(1 + cycle % 50)")
                    if cycle.isMultiple(of: 2) { try client.send(opcode: .close, [0x03, 0xE8]) }
                }
            }
        }
        try await cycles(500, topic: "warm")  // allocator arenas, loop buffers
        try await Task.sleep(for: .milliseconds(300))
        let baseline = host.residentBytes()
        try await cycles(10_000, topic: "t")
        try await Task.sleep(for: .milliseconds(500))
        let growth = host.residentBytes() - baseline
        // Under AddressSanitizer freed memory sits in its quarantine, so
        // only the cycles themselves are checked there.
        if !TestEnvironment.isSanitized {
            #expect(growth < 8 << 20, "server RSS grew by \(growth >> 10) KiB over 10,000 cycles")
        }
    }
}

