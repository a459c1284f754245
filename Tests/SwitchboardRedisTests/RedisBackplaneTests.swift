import Foundation
import Glibc
import Testing
import TestSupport
@testable import Switchboard
import SwitchboardRedis

/// Switchboard nodes in this process, each with its own RedisBackplane,
/// against a real redis-server the test starts: what crosses nodes, what
/// Redis is subscribed to, and what happens when Redis goes away.
@Suite("Redis backplane", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: RedisServerProcess.binary)))
struct RedisBackplaneTests {
    static let prefix = "switchboard:"

    @Test func publishesReachEveryNodeExactlyOnceInOrder() throws {
        let redis = try RedisServerProcess()
        let nodes = try RedisNode.start(3, redis: redis)
        defer { RedisNode.stop(nodes) }
        #expect(eventually { nodes.allSatisfy(\.backplane.isConnected) })

        let clients = try nodes.map { try TestWebSocket(port: $0.port, path: "/topic?topic=news") }
        // Every node is subscribed upstream before anything is published.
        #expect(eventually { (try? redis.call("PUBSUB", "NUMSUB", Self.prefix + "news")) == .array([.bulk(Self.prefix + "news"), .integer(3)]) })

        // Two publishers at once, from application code on nodes A and B.
        let count = 300
        let finished = Counter()
        for (node, tag) in [(nodes[0], "a"), (nodes[1], "b")] {
            let pubsub = node.server.pubsub
            Thread.detachNewThread {
                for index in 0..<count { pubsub.publish("news", text: "\(tag)\(index)") }
                finished.increment()
            }
        }
        #expect(eventually { finished.value == 2 })

        // Each subscriber, local or remote, sees each publisher's messages
        // once each, in order: node A's own subscriber included.
        for (index, client) in clients.enumerated() {
            var received: [String: [Int]] = ["a": [], "b": []]
            for _ in 0..<(2 * count) {
                let text = try client.receiveNonPing().text
                received[String(text.prefix(1)), default: []].append(Int(text.dropFirst()) ?? -1)
            }
            #expect(received["a"] == Array(0..<count), "node \(index): publisher A's messages")
            #expect(received["b"] == Array(0..<count), "node \(index): publisher B's messages")
            client.socket.timeoutMilliseconds = 300
            #expect(throws: TestSocket.Failure.self, "node \(index) got more than it should") { try client.receiveNonPing() }
        }
        #expect(nodes.allSatisfy { $0.backplane.droppedPublishes == 0 })
        #expect(nodes[0].backplane.confirmedPublishes == count)
        #expect(nodes[2].backplane.receivedMessages == 2 * count)
    }

    /// Topics come and go on every loop of every node at once; Redis ends
    /// up subscribed to exactly the topics that still have subscribers:
    /// first one, then none.
    @Test func churnLeavesNoStrayRedisSubscriptions() throws {
        let redis = try RedisServerProcess()
        let nodes = try RedisNode.start(3, redis: redis)
        defer { RedisNode.stop(nodes) }
        #expect(eventually { nodes.allSatisfy(\.backplane.isConnected) })
        let held = try TestWebSocket(port: nodes[1].port, path: "/topic?topic=held")

        // Two clients per node (so both loops of a node race each other),
        // each subscribing and unsubscribing topics shared by all.
        let failures = Counter()
        let finished = Counter()
        let clientCount = nodes.count * 2
        for client in 0..<clientCount {
            let port = nodes[client % nodes.count].port
            Thread.detachNewThread {
                do {
                    let socket = try TestWebSocket(port: port, path: "/topic?topic=own-\(client)")
                    for cycle in 0..<60 {
                        let topic = "churn-\((client + cycle) % 5)"
                        try socket.send(text: "sub \(topic)")
                        guard try socket.receiveNonPing().text == "subscribed" else { throw TestSocket.Failure(description: "no ack") }
                        try socket.send(text: "unsub \(topic)")
                        guard try socket.receiveNonPing().text == "unsubscribed" else { throw TestSocket.Failure(description: "no ack") }
                    }
                    // Some leave by closing, holding a subscription to the end.
                    if client.isMultiple(of: 2) {
                        try socket.send(text: "sub churn-last")
                        _ = try socket.receiveNonPing()
                    }
                    try socket.send(opcode: .close, [0x03, 0xE8])
                    _ = try socket.receiveNonPing()
                } catch {
                    failures.increment()
                }
                finished.increment()
            }
        }
        #expect(eventually(seconds: 20) { finished.value == clientCount })
        #expect(failures.value == 0)

        // The one topic still held is subscribed, by its node only.
        #expect(eventually { (try? redis.channels(Self.prefix + "*")) == [Self.prefix + "held"] },
                "channels: \((try? redis.channels(Self.prefix + "*")) ?? [])")
        #expect(try redis.call("PUBSUB", "NUMSUB", Self.prefix + "held") == .array([.bulk(Self.prefix + "held"), .integer(1)]))

        try held.send(opcode: .close, [0x03, 0xE8])
        #expect(eventually { (try? redis.channels("*")) == [] }, "channels: \((try? redis.channels("*")) ?? [])")
        #expect(nodes.allSatisfy { $0.server.pubsub.topicCount == 0 })
    }

    /// Redis is killed while one node publishes a numbered stream to a
    /// subscriber on another: the publisher counts what it could not send,
    /// both reconnect and subscribe again, and the stream resumes in order.
    @Test func deliveryResumesAfterRedisRestarts() throws {
        // Before the nodes start: their backplanes report drops to it.
        let metrics = TestMetricsBackend.shared
        let droppedBefore = metrics.counterTotal(label: "switchboard_backplane_publishes_dropped_total")
        let redis = try RedisServerProcess()
        let nodes = try RedisNode.start(2, redis: redis)
        defer { RedisNode.stop(nodes) }
        let (publisher, subscriber) = (nodes[0], nodes[1])
        #expect(eventually { nodes.allSatisfy(\.backplane.isConnected) })
        let client = try TestWebSocket(port: subscriber.port, path: "/topic?topic=feed")
        #expect(eventually { (try? redis.channels()) == [Self.prefix + "feed"] })

        // About 500 numbered messages a second, until the test ends.
        let published = Counter()
        let stopPublishing = Counter()
        defer { stopPublishing.increment() }
        let pubsub = publisher.server.pubsub
        Thread.detachNewThread {
            while stopPublishing.value == 0 {
                pubsub.publish("feed", text: String(published.value))
                published.increment()
                usleep(2_000)
            }
        }
        var received: [Int] = []
        func receive(until condition: () -> Bool) throws {
            while !condition() { received.append(Int(try client.receiveNonPing().text) ?? -1) }
        }
        try receive { received.count >= 100 }

        redis.kill()
        #expect(eventually { !publisher.backplane.isConnected && !subscriber.backplane.isConnected })
        // Publishing goes on meanwhile: visibly dropped, not silently lost.
        #expect(eventually { publisher.backplane.droppedPublishes >= 50 })

        try redis.restart()
        #expect(eventually(seconds: 10) { nodes.allSatisfy(\.backplane.isConnected) })
        // The new Redis knows nothing: the subscriber's node subscribed again.
        #expect(eventually { (try? redis.channels()) == [Self.prefix + "feed"] })
        let resumedFrom = published.value
        try receive { (received.last ?? 0) > resumedFrom + 100 }
        stopPublishing.increment()

        #expect(received == received.sorted() && Set(received).count == received.count, "in order, none twice")
        let missing = (received.last! + 1) - received.count
        let dropped = publisher.backplane.droppedPublishes
        #expect(missing > 0 && dropped > 0, "a gap, and it was counted")
        // Dropped counts what never reached Redis; a few more can be lost
        // in the moments before the subscriber's node is subscribed again.
        #expect(missing >= dropped - 5, "missing \(missing), dropped \(dropped)")
        #expect(missing < dropped + 500, "missing \(missing), dropped \(dropped)")
        // The metric counts them too (other tests' backplanes may add to it).
        #expect(metrics.counterTotal(label: "switchboard_backplane_publishes_dropped_total") - droppedBefore >= Int64(dropped))
        let up = (try? metrics.expectGauge("switchboard_backplane_up"))?.values ?? []
        #expect(up.contains(0) && up.contains(1), "\(up.suffix(10))")
    }

    /// With no Redis at all, publishing still serves local subscribers and
    /// counts what could not go out; once Redis is there the backplane
    /// connects, and the server stops with no libuv handle left open
    /// (reconnect timers, connect attempts, hiredis's poll handles).
    @Test func connectsWhenRedisAppearsAndStopsCleanly() throws {
        let nowhere = try TestSocketPort.free()
        // A connect timeout far longer than the wait below: only a refused
        // connect noticed at once lets the backplane find Redis in time.
        let backplane = try RedisBackplane(
            url: "redis://127.0.0.1:\(nowhere)",
            configuration: .init(reconnectDelay: .milliseconds(10) ... .milliseconds(40), connectTimeout: .seconds(120)))
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2, backplane: backplane))
        server.webSocket("/topic", configuration: WebSocketConfiguration(origins: .any), handler: TopicHandler(pubsub: server.pubsub))
        let port = try server.start().port
        let group = server.group!
        let client = try TestWebSocket(port: port, path: "/topic?topic=local")
        #expect(eventually { server.pubsub.subscriberCount(of: "local") == 1 })
        usleep(200_000)  // several attempts and backoff timers
        #expect(server.pubsub.publish("local", text: "still here") == 1)
        #expect(try client.receiveNonPing().text == "still here")
        #expect(eventually { backplane.droppedPublishes == 1 })
        #expect(!backplane.isConnected)

        // Redis appears: a refused connect is noticed at once (not after
        // the connect timeout), so a later attempt finds it.
        let redis = try RedisServerProcess(port: nowhere)
        #expect(eventually(seconds: 30) { backplane.isConnected })
        _ = redis

        try client.send(opcode: .close, [0x03, 0xE8])
        #expect(throws: Never.self) { try server.stop() }
        #expect(group.loops.compactMap(\.closeReport).allSatisfy { $0.leakedHandles == 0 })
    }

    /// A node that stops gracefully still tells the others what its
    /// handlers publish as their sockets close.
    @Test func whatClosingSocketsPublishReachesOtherNodes() throws {
        let redis = try RedisServerProcess()
        let nodes = try RedisNode.start(2, redis: redis)
        defer { RedisNode.stop(nodes) }
        #expect(eventually { nodes.allSatisfy(\.backplane.isConnected) })
        let staying = try TestWebSocket(port: nodes[0].port, path: "/announce?topic=room")
        let leaving = try TestWebSocket(port: nodes[1].port, path: "/announce?topic=room")
        #expect(eventually { (try? redis.call("PUBSUB", "NUMSUB", Self.prefix + "room")) == .array([.bulk(Self.prefix + "room"), .integer(2)]) })

        let stopped = Counter()
        let server = nodes[1].server
        Thread.detachNewThread {
            try? server.stop()
            stopped.increment()
        }
        #expect(try leaving.receiveNonPing().closeCode == 1001)
        // As a browser does: the close reply, then the TCP connection ends.
        try leaving.send(opcode: .close, [0x03, 0xE9])
        leaving.socket.shutdownWrite()
        #expect(try staying.receiveNonPing().text == "left room")
        #expect(eventually { stopped.value == 1 })
        #expect(nodes[1].backplane.droppedPublishes == 0)
    }

    /// A stalled Redis (SIGSTOP) confirms nothing: past
    /// `maxPendingPublishBytes` publishes are dropped and counted instead of
    /// piling up in memory; once it runs again, they flow.
    @Test func aStalledRedisBoundsPendingPublishes() throws {
        let redis = try RedisServerProcess()
        let backplane = try RedisBackplane(url: redis.url, configuration: .init(maxPendingPublishBytes: 4_096))
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, backplane: backplane))
        try server.start()
        defer { #expect(throws: Never.self) { try server.stop() } }
        #expect(eventually { backplane.isConnected })
        let payload = [UInt8](repeating: 7, count: 100)
        server.pubsub.publish("t", binary: payload)
        #expect(eventually { backplane.confirmedPublishes == 1 })

        redis.pause()
        defer { redis.resume() }
        for _ in 0..<200 { server.pubsub.publish("t", binary: payload) }
        // About 4 KiB of ~150-byte commands wait for Redis; the rest are dropped.
        #expect(eventually { backplane.droppedPublishes > 150 })
        #expect(server.group!.loops[0].runAndWait(timeout: .seconds(10)) {})  // the loop finishes the batch
        let dropped = backplane.droppedPublishes
        #expect(backplane.confirmedPublishes == 1)

        redis.resume()
        #expect(eventually { backplane.confirmedPublishes + backplane.droppedPublishes == 201 })
        #expect(backplane.droppedPublishes == dropped)
        server.pubsub.publish("t", binary: payload)
        #expect(eventually { backplane.confirmedPublishes == 202 - dropped })
    }

    /// Something else publishing on a Switchboard channel (redis-cli, an old
    /// version) is ignored, not delivered as garbage.
    @Test func foreignMessagesOnTheChannelAreIgnored() throws {
        let redis = try RedisServerProcess()
        let nodes = try RedisNode.start(2, redis: redis)
        defer { RedisNode.stop(nodes) }
        #expect(eventually { nodes.allSatisfy(\.backplane.isConnected) })
        let client = try TestWebSocket(port: nodes[1].port, path: "/topic?topic=news")
        #expect(eventually { (try? redis.channels()) == [Self.prefix + "news"] })
        #expect(try redis.call("PUBLISH", Self.prefix + "news", "hello from redis-cli") == .integer(1))
        nodes[0].server.pubsub.publish("news", text: "from a node")
        #expect(try client.receiveNonPing().text == "from a node")
        #expect(nodes[1].backplane.receivedMessages == 1)
    }

    /// A host name is looked up on libuv's thread pool, not on the loop,
    /// and each of its addresses is tried.
    @Test func connectsThroughAHostName() throws {
        let redis = try RedisServerProcess()
        let nodes = try (0..<2).map { _ in try RedisNode(url: "redis://localhost:\(redis.port)") }
        defer { RedisNode.stop(nodes) }
        #expect(eventually { nodes.allSatisfy(\.backplane.isConnected) })
        let client = try TestWebSocket(port: nodes[1].port, path: "/topic?topic=named")
        #expect(eventually { (try? redis.channels()) == [Self.prefix + "named"] })
        nodes[0].server.pubsub.publish("named", text: "found")
        #expect(try client.receiveNonPing().text == "found")
    }

    /// AUTH and SELECT from the URL, against a Redis that requires a password.
    @Test func logsInWithThePasswordFromTheURL() throws {
        let redis = try RedisServerProcess(extraArguments: ["--requirepass", "s3cr%t"])
        let url = "redis://:s3cr%25t@127.0.0.1:\(redis.port)/3"
        let nodes = try (0..<2).map { _ in try RedisNode(url: url) }
        defer { RedisNode.stop(nodes) }
        #expect(eventually { nodes.allSatisfy(\.backplane.isConnected) })
        let client = try TestWebSocket(port: nodes[1].port, path: "/topic?topic=secure")
        #expect(eventually { (try? redis.call(["AUTH", "s3cr%t"], then: ["PUBSUB", "NUMSUB", Self.prefix + "secure"])) == .array([.bulk(Self.prefix + "secure"), .integer(1)]) })
        nodes[0].server.pubsub.publish("secure", text: "hello")
        #expect(try client.receiveNonPing().text == "hello")
        #expect(nodes[0].backplane.droppedPublishes == 0)
    }
}

/// The README's "Scale out with Redis" snippet, kept compiling (not
/// started: its Redis address is made up).
@Test func readmeRedisSnippet() throws {
    let backplane = try RedisBackplane(url: "redis://:secret@10.0.0.5:6379/0")
    let server = Server(configuration: ServerConfiguration(host: "0.0.0.0", port: 8080, backplane: backplane))
    #expect(backplane.url == RedisURL(host: "10.0.0.5", password: "secret"))
    #expect(server.configuration.backplane is RedisBackplane)
    #expect(backplane.configuration.channelPrefix == "switchboard:")
}

/// One Switchboard node: two loops, a RedisBackplane, and the pub/sub
/// tests' /topic route.
final class RedisNode: Sendable {
    let server: Server
    let backplane: RedisBackplane
    let port: Int

    init(url: String) throws {
        backplane = try RedisBackplane(url: url, configuration: .init(reconnectDelay: .milliseconds(50) ... .milliseconds(400)))
        server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2, backplane: backplane))
        server.webSocket("/topic", configuration: WebSocketConfiguration(origins: .any), handler: TopicHandler(pubsub: server.pubsub))
        server.webSocket("/announce", configuration: WebSocketConfiguration(origins: .any), handler: LeaveAnnouncer(pubsub: server.pubsub))
        port = try server.start().port
    }

    static func start(_ count: Int, redis: RedisServerProcess) throws -> [RedisNode] {
        try (0..<count).map { _ in try RedisNode(url: redis.url) }
    }

    /// Stops each node; a libuv handle left open by the backplane fails the test.
    static func stop(_ nodes: [RedisNode]) {
        for node in nodes {
            #expect(throws: Never.self) { try node.server.stop() }
        }
    }
}

/// Subscribes to `?topic=` and publishes "left TOPIC" there when its socket closes.
struct LeaveAnnouncer: WebSocketHandler {
    let pubsub: PubSub
    func authenticate(_ request: Request) throws -> String { request.queryValue("topic") ?? "none" }
    func onOpen(_ socket: WebSocket<String>) { socket.subscribe(socket.userData) }
    func onClose(_ socket: WebSocket<String>, code: WebSocketCloseCode, reason: String) {
        pubsub.publish(socket.userData, text: "left \(socket.userData)")
    }
}
