import Foundation
import Glibc
import Testing
import TestSupport
@testable import Switchboard
import SwitchboardRedis
import SwitchboardSync

/// A node with history on topics `h.` (2,000 messages) and `small.` (10),
/// the client protocol at /pubsub, and connections by name so a test can
/// cut one from the server's side.
private final class HistoryNode: Sendable {
    let server: Server
    let backplane: RedisBackplane
    let port: Int
    let sockets = Locked<[String: WebSocket<String>]>([:])

    init(redis: RedisServerProcess, url: String? = nil) throws {
        backplane = try RedisBackplane(url: url ?? redis.url, configuration: .init(reconnectDelay: .milliseconds(50) ... .milliseconds(300)))
        server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2, history: TopicHistory(rules: [
            .prefix("h.", HistoryPolicy(maxMessages: 2_000, maxBytes: 1 << 20)),
            .prefix("small.", HistoryPolicy(maxMessages: 10)),
        ]), backplane: backplane))
        let sockets = self.sockets
        server.pubsubEndpoint("/pubsub", configuration: WebSocketConfiguration(origins: .any), authorizer: PubSubAuthorizer<String>(
            authenticate: { $0.queryValue("name") ?? "anonymous" },
            canSubscribe: { socket, _ in
                sockets.withLock { $0[socket.userData] = socket }
                return true
            }), publishRateLimit: nil)
        server.webSocket("/topic", configuration: WebSocketConfiguration(origins: .any), handler: TopicHandler(pubsub: server.pubsub))
        port = try server.start().port
    }

    func cut(_ name: String) {
        guard let socket = sockets.withLock({ $0[name] }) else { return }
        socket.connection.onLoop { $0.tcp.close() }
    }

    func stop() {
        #expect(throws: Never.self) { try server.stop() }
        sockets.withLock { $0 = [:] }
    }
}

/// A client-protocol connection reading JSON frames.
private final class Client {
    let socket: TestWebSocket

    init(_ node: HistoryNode, name: String = "client") throws {
        socket = try TestWebSocket(port: node.port, path: "/pubsub?name=\(name)")
    }

    func send(_ text: String) throws { try socket.send(text: text) }

    func next() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(socket.receiveNonPing().payload)) as? [String: Any])
    }

    func subscribe(_ topic: String, since: (epoch: String, offset: Int)? = nil) throws -> [String: Any] {
        let sinceField = since.map { #","since":{"epoch":"\#($0.epoch)","offset":\#($0.offset)}"# } ?? ""
        try send(#"{"type":"subscribe","topic":"\#(topic)","id":1\#(sinceField)}"#)
        let ack = try next()
        try #require(ack["type"] as? String == "ack", "expected the ack, got \(ack)")
        return ack
    }

    /// The next `count` messages' offsets (each must be a message).
    func offsets(_ count: Int) throws -> [Int] {
        try (0..<count).map { _ in
            let frame = try next()
            try #require(frame["type"] as? String == "message", "expected a message, got \(frame)")
            return try #require(frame["offset"] as? Int)
        }
    }
}

/// SCRIPT LOADs Redis refused (ACL), from its command statistics.
private func refusedScriptLoads(_ redis: RedisServerProcess) -> Int? {
    guard case .bulk(let info?) = try? redis.call("INFO", "commandstats"),
          let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_script|load:") }),
          let field = line.split(separator: ",").first(where: { $0.hasPrefix("rejected_calls=") })
    else { return nil }
    return Int(field.dropFirst("rejected_calls=".count))
}

private func publish(_ node: HistoryNode, _ topic: String, _ values: ClosedRange<Int>) {
    for value in values { node.server.pubsub.publish(topic, json: String(value)) }
}

@Suite("History over Redis", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: RedisServerProcess.binary)))
struct RedisHistoryTests {
    @Test("Two nodes number a topic's messages in one order; a publish is acknowledged with its place")
    func oneOrderForAllNodes() throws {
        let redis = try RedisServerProcess()
        let (a, b) = (try HistoryNode(redis: redis), try HistoryNode(redis: redis))
        defer { a.stop(); b.stop() }
        #expect(eventually { a.backplane.isConnected && b.backplane.isConnected })
        let onA = try Client(a), onB = try Client(b)
        let ackA = try onA.subscribe("h.news"), ackB = try onB.subscribe("h.news")
        let epoch = try #require(ackA["epoch"] as? String)
        #expect(ackB["epoch"] as? String == epoch && ackA["offset"] as? Int == 0 && ackB["offset"] as? Int == 0)
        // Publishers on both nodes at once.
        let done = Counter()
        for node in [a, b] {
            Thread.detachNewThread {
                publish(node, "h.news", 1...100)
                done.increment()
            }
        }
        #expect(eventually { done.value == 2 })
        var seen: [[Int]] = []
        for client in [onA, onB] {
            var data: [Int] = []
            for expected in 1...200 {
                let frame = try client.next()
                #expect(frame["offset"] as? Int == expected)
                data.append(frame["data"] as? Int ?? -1)
            }
            seen.append(data)
        }
        #expect(seen[0] == seen[1])
        try onB.send(#"{"type":"publish","topic":"h.news","data":"hi","id":7}"#)
        var frames = [try onB.next(), try onB.next()]
        frames.sort { ($0["type"] as! String) < ($1["type"] as! String) }
        #expect(frames[0]["type"] as? String == "ack" && frames[0]["offset"] as? Int == 201 && frames[0]["epoch"] as? String == epoch)
        #expect(try onA.offsets(1) == [201])
        #expect(try redis.call("HGET", "switchboard:history:{h.news}", "top") == .bulk("201"))
    }

    @Test("Cut on one node while 1,000 are published on the other; back on either node with its position: exactly the missed ones")
    func recoversOnAnyNode() throws {
        let redis = try RedisServerProcess()
        let (a, b) = (try HistoryNode(redis: redis), try HistoryNode(redis: redis))
        defer { a.stop(); b.stop() }
        #expect(eventually { a.backplane.isConnected && b.backplane.isConnected })
        let watcher = try Client(a, name: "watcher")
        let epoch = try #require(watcher.subscribe("h.feed")["epoch"] as? String)
        let reader = try Client(b, name: "reader")
        _ = try reader.subscribe("h.feed")
        publish(a, "h.feed", 1...10)
        #expect(try reader.offsets(10) == Array(1...10))
        b.cut("reader")
        publish(a, "h.feed", 11...1_010)
        #expect(try watcher.offsets(1_010).last == 1_010)
        // Back on B (which follows the topic no more: read from Redis), and on A (its mirror).
        for node in [b, a] {
            let again = try Client(node, name: "again")
            let ack = try again.subscribe("h.feed", since: (epoch, 10))
            #expect(ack["recovered"] as? Bool == true && ack["offset"] as? Int == 1_010)
            #expect(try again.offsets(1_000) == Array(11...1_010))
        }
        let far = try Client(b, name: "far")
        let ack = try far.subscribe("small.t", since: (epoch, 0))
        #expect(ack["recovered"] as? Bool == false && ack["reason"] as? String == "epoch")
    }

    @Test("A node whose subscriber link drops catches its subscribers up from the stream")
    func catchesUpAfterALostLink() throws {
        let redis = try RedisServerProcess()
        let (a, b) = (try HistoryNode(redis: redis), try HistoryNode(redis: redis))
        defer { a.stop(); b.stop() }
        #expect(eventually { a.backplane.isConnected && b.backplane.isConnected })
        let reader = try Client(b, name: "reader")
        _ = try reader.subscribe("h.link")
        #expect(eventually { (try? redis.call("PUBSUB", "NUMSUB", "switchboard:h.link")) == .array([.bulk("switchboard:h.link"), .integer(1)]) })
        let publisher = Thread {
            for value in 1...300 {
                a.server.pubsub.publish("h.link", json: String(value))
                if value % 50 == 0 { usleep(20_000) }
            }
        }
        publisher.start()
        // Drop B's subscriber connection (and A's) a few times meanwhile.
        for _ in 0..<3 {
            usleep(30_000)
            _ = try redis.call("CLIENT", "KILL", "TYPE", "pubsub")
        }
        #expect(try reader.offsets(300) == Array(1...300))
    }

    @Test("Redis restarts under a subscriber: it is told reset, and goes on with the new epoch; nothing is lost silently")
    func resetAfterRedisRestart() throws {
        let redis = try RedisServerProcess()
        let (a, b) = (try HistoryNode(redis: redis), try HistoryNode(redis: redis))
        defer { a.stop(); b.stop() }
        #expect(eventually { a.backplane.isConnected && b.backplane.isConnected })
        let reader = try Client(b, name: "reader")
        let epoch = try #require(reader.subscribe("h.r")["epoch"] as? String)
        publish(a, "h.r", 1...3)
        #expect(try reader.offsets(3) == [1, 2, 3])
        try redis.restart()
        #expect(eventually(seconds: 10) { a.backplane.isConnected && b.backplane.isConnected })
        let reset = try reader.next()
        #expect(reset["type"] as? String == "reset" && reset["topic"] as? String == "h.r")
        let newEpoch = try #require(reset["epoch"] as? String)
        #expect(newEpoch != epoch && reset["offset"] as? Int == 0)
        publish(a, "h.r", 1...2)
        #expect(try reader.offsets(2) == [1, 2])
    }

    @Test("A handler's own subscription to a history topic gets every message, the first ones included")
    func handlerSubscriptions() throws {
        let redis = try RedisServerProcess()
        let (a, b) = (try HistoryNode(redis: redis), try HistoryNode(redis: redis))
        defer { a.stop(); b.stop() }
        #expect(eventually { a.backplane.isConnected && b.backplane.isConnected })
        let handler = try TestWebSocket(port: b.port, path: "/topic?topic=h.custom")
        #expect(eventually { (try? redis.call("PUBSUB", "NUMSUB", "switchboard:h.custom")) == .array([.bulk("switchboard:h.custom"), .integer(1)]) })
        publish(a, "h.custom", 1...5)
        for expected in 1...5 {
            let frame = try #require(JSONSerialization.jsonObject(with: Data(handler.receiveNonPing().payload)) as? [String: Any])
            #expect(frame["offset"] as? Int == expected && frame["data"] as? Int == expected)
        }
    }

    @Test("A handler's own subscription gets every message published after it, when the mirror's first read overtakes the live ones")
    func handlerSubscriptionUnderAStream() throws {
        let redis = try RedisServerProcess()
        let (a, b) = (try HistoryNode(redis: redis), try HistoryNode(redis: redis))
        defer { a.stop(); b.stop() }
        #expect(eventually { a.backplane.isConnected && b.backplane.isConnected })
        for round in 0..<5 {
            let topic = "h.burst\(round)"
            let handler = try TestWebSocket(port: b.port, path: "/topic?topic=\(topic)")
            #expect(eventually { (try? redis.call("PUBSUB", "NUMSUB", "switchboard:\(topic)")) == .array([.bulk("switchboard:\(topic)"), .integer(1)]) })
            // A stream of publishes: B's first read of the mirror (set off by
            // the first message) returns messages B has not yet been handed live.
            publish(a, topic, 1...300)
            var offsets: [Int] = []
            for _ in 1...300 {
                let frame = try #require(JSONSerialization.jsonObject(with: Data(handler.receiveNonPing().payload)) as? [String: Any])
                offsets.append(frame["offset"] as? Int ?? -1)
            }
            #expect(offsets == Array(1...300), "round \(round)")
        }
    }

    @Test("Redis forgets the scripts (SCRIPT FLUSH): the publish that meets that fails visibly, the scripts are loaded again, a read goes again")
    func scriptsFlushed() async throws {
        let redis = try RedisServerProcess()
        let a = try HistoryNode(redis: redis)
        defer { a.stop() }
        #expect(await eventually { a.backplane.isConnected })
        let first = try await a.server.pubsub.publishKept("h.f", json: "1")
        #expect(first.offset == 1)
        _ = try redis.call("SCRIPT", "FLUSH")
        let dropped = a.backplane.droppedPublishes
        await #expect(throws: HistoryError.unavailable) { try await a.server.pubsub.publishKept("h.f", json: "2") }
        #expect(a.backplane.droppedPublishes == dropped + 1)
        #expect(try await a.server.pubsub.publishKept("h.f", json: "3").offset == 2)
        // A node that does not follow the topic reads it for a subscriber.
        _ = try redis.call("SCRIPT", "FLUSH")
        let client = try Client(a)
        let ack = try client.subscribe("h.f", since: (first.epoch, 0))
        #expect(ack["recovered"] as? Bool == true && ack["offset"] as? Int == 2)
        #expect(try client.offsets(2) == [1, 2])
    }

    @Test("A refused SCRIPT LOAD is not final: once Redis allows it, the next NOSCRIPT loads the scripts and history works")
    func scriptLoadRefusedThenAllowed() async throws {
        let redis = try RedisServerProcess()
        _ = try redis.call("ACL", "SETUSER", "app", "on", ">pw", "~*", "&*", "+@all", "-script|load")
        let a = try HistoryNode(redis: redis, url: "redis://app:pw@127.0.0.1:\(redis.port)")
        defer { a.stop() }
        #expect(await eventually { a.backplane.isConnected })
        await #expect(throws: HistoryError.unavailable) { try await a.server.pubsub.publishKept("h.l", json: "1") }
        // Both scripts refused on connecting, and again after that NOSCRIPT.
        #expect(await eventually { refusedScriptLoads(redis) == 4 })
        // A subscribe's read meets NOSCRIPT too: answered unavailable, not sent again and again.
        let client = try Client(a)
        try client.send(#"{"type":"subscribe","topic":"h.r","id":5}"#)
        let refused = try client.next()
        #expect(refused["type"] as? String == "error" && refused["code"] as? String == "unavailable" && refused["id"] as? Int == 5)
        #expect(await eventually { refusedScriptLoads(redis) == 6 })
        _ = try redis.call("ACL", "SETUSER", "app", "+script|load")
        // This one meets NOSCRIPT and has the scripts loaded; the next goes through.
        await #expect(throws: HistoryError.unavailable) { try await a.server.pubsub.publishKept("h.l", json: "2") }
        #expect(try await a.server.pubsub.publishKept("h.l", json: "3").offset == 1)
    }

    @Test("While Redis is down a client's publish on a history topic gets error unavailable; the connection stays")
    func publishesFailVisibly() async throws {
        let redis = try RedisServerProcess()
        let a = try HistoryNode(redis: redis)
        defer { a.stop() }
        #expect(await eventually { a.backplane.isConnected })
        let client = try Client(a)
        _ = try client.subscribe("h.down")
        redis.kill()
        #expect(await eventually { !a.backplane.isConnected })
        let dropped = a.backplane.droppedPublishes
        try client.send(#"{"type":"publish","topic":"h.down","data":1,"id":3}"#)
        let error = try client.next()
        #expect(error["type"] as? String == "error" && error["code"] as? String == "unavailable" && error["id"] as? Int == 3)
        #expect(a.backplane.droppedPublishes == dropped + 1)
        // Application code is told too.
        await #expect(throws: HistoryError.unavailable) { try await a.server.pubsub.publishKept("h.down", json: "2") }
        try client.send(#"{"type":"subscribe","topic":"plain","id":4}"#)
        #expect(try client.next()["id"] as? Int == 4)
    }
}
