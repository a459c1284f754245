import Synchronization
import Testing
import TestSupport
@testable import Switchboard
import SwitchboardSync

/// Joins the backplanes of several servers in one process: what one node
/// publishes reaches every other node's inbox, never its own.
final class MemoryBus: Sendable {
    private let inboxes = Locked<[Int: BackplaneInbox]>([:])
    let interestChanges = Locked<[String]>([])

    func node(_ id: Int) -> some Backplane { Node(id: id, bus: self) }

    struct Node: Backplane {
        let id: Int
        let bus: MemoryBus
        func start(_ inbox: BackplaneInbox) throws { bus.inboxes.withLock { $0[id] = inbox } }
        func stop() { _ = bus.inboxes.withLock { $0.removeValue(forKey: id) } }
        func publish(_ topic: String, payload: [UInt8], isText: Bool) {
            for (other, inbox) in bus.inboxes.withLock({ $0 }) where other != id {
                inbox.deliver(topic, payload: payload, isText: isText)
            }
        }
        func topicsChanged(_ topic: String) {
            let interested = bus.inboxes.withLock { $0[id]?.hasSubscribers(topic) } ?? false
            bus.interestChanges.withLock { $0.append("\(id) \(topic) \(interested)") }
        }
    }
}

@Suite("Backplane interface")
struct BackplaneTests {
    @Test func publishesCrossNodesExactlyOnceAndInterestIsReported() throws {
        let bus = MemoryBus()
        let servers = (0..<2).map { id in
            let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2, backplane: bus.node(id)))
            server.webSocket("/topic", configuration: WebSocketConfiguration(origins: .any), handler: TopicHandler(pubsub: server.pubsub))
            return server
        }
        let ports = try servers.map { try $0.start().port }
        defer { for server in servers { try? server.stop() } }

        let onA = try TestWebSocket(port: ports[0], path: "/topic?topic=news")
        let onB = try TestWebSocket(port: ports[1], path: "/topic?topic=news")
        #expect(eventually { servers.allSatisfy { $0.pubsub.subscriberCount(of: "news") == 1 } })
        #expect(bus.interestChanges.withLock { $0 }.sorted() == ["0 news true", "1 news true"])

        // From application code on A, and from a client on B.
        servers[0].pubsub.publish("news", text: "from A")
        try onB.send(text: "from B")
        for client in [onA, onB] {
            let received = try [client.receiveNonPing().text, client.receiveNonPing().text]
            #expect(Set(received) == ["from A", "from B"])
        }
        // Nothing arrives twice.
        servers[1].pubsub.publish("news", text: "marker")
        #expect(try onA.receiveNonPing().text == "marker")
        #expect(try onB.receiveNonPing().text == "marker")

        try onB.send(opcode: .close, [0x03, 0xE8])
        #expect(eventually { bus.interestChanges.withLock { $0 }.contains("1 news false") })
    }
}
