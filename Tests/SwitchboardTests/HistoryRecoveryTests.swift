import Foundation
import SwitchboardSync
import Testing
import TestSupport
@testable import Switchboard

/// A client-protocol connection that reads JSON frames.
private final class ProtocolClient: @unchecked Sendable {
    let socket: TestWebSocket

    init(port: Int, name: String = "client") throws {
        socket = try TestWebSocket(port: port, path: "/pubsub?name=\(name)")
    }

    func send(_ text: String) throws { try socket.send(text: text) }

    func next() throws -> [String: Any] { try json(socket.receiveNonPing()) }

    /// Subscribes (with `since` when given) and returns the ack.
    func subscribe(_ topic: String, since: (epoch: String, offset: UInt64)? = nil) throws -> [String: Any] {
        let sinceField = since.map { #","since":{"epoch":"\#($0.epoch)","offset":\#($0.offset)}"# } ?? ""
        try send(#"{"type":"subscribe","topic":"\#(topic)","id":1\#(sinceField)}"#)
        let ack = try next()
        try #require(ack["type"] as? String == "ack", "expected the ack, got \(ack)")
        return ack
    }

    /// The next `count` messages: offsets and data (-1 when not a number).
    func messages(_ count: Int) throws -> [(offset: UInt64, data: Int)] {
        try (0..<count).map { _ in
            let frame = try next()
            try #require(frame["type"] as? String == "message", "expected a message, got \(frame)")
            return (try #require(frame["offset"] as? UInt64), frame["data"] as? Int ?? -1)
        }
    }
}

/// Connections by the name they gave, so a test can cut one from the server's side.
private final class Connections: Sendable {
    let sockets = Locked<[String: WebSocket<String>]>([:])
    func cut(_ name: String) {
        guard let socket = sockets.withLock({ $0[name] }) else { return }
        socket.connection.onLoop { $0.tcp.close() }
    }
}

private func withHistoryServer(
    history: TopicHistory = TopicHistory(rules: [
        .prefix("h.", HistoryPolicy(maxMessages: 5_000, maxBytes: 1 << 20)),
        .prefix("small.", HistoryPolicy(maxMessages: 10)),
        .prefix("brief.", HistoryPolicy(retention: .milliseconds(100))),
    ]),
    loopCount: Int = 2,
    beforeSubscribing: @escaping @Sendable (Server, WebSocket<String>, String) -> Void = { _, _, _ in },
    _ body: (Server, Int, Connections) throws -> Void
) throws {
    let connections = Connections()
    let server = Server(configuration: ServerConfiguration(port: 0, loopCount: loopCount, history: history))
    let serverReference = Locked<Server?>(server)
    server.pubsubEndpoint(
        "/pubsub", configuration: WebSocketConfiguration(origins: .any),
        authorizer: PubSubAuthorizer<String>(
            authenticate: { $0.queryValue("name") ?? "anonymous" },
            canSubscribe: { socket, topic in
                connections.sockets.withLock { $0[socket.userData] = socket }
                if let server = serverReference.withLock({ $0 }) { beforeSubscribing(server, socket, topic) }
                return true
            }),
        publishRateLimit: nil)
    server.historyRoute(at: "/history") { request, topic in request.queryValue("key") == "k" && topic != "h.secret" }
    let port = try server.start().port
    defer {
        try? server.stop()
        connections.sockets.withLock { $0 = [:] }
        serverReference.withLock { $0 = nil }
    }
    try body(server, port, connections)
}

private func publish(_ server: Server, _ topic: String, _ values: some Sequence<Int>) {
    for value in values { server.pubsub.publish(topic, json: String(value)) }
}

@Suite("History and recovery")
struct HistoryRecoveryTests {
    @Test("The ack carries the position before anything is published; messages and publish acks carry offsets")
    func positionsEverywhere() throws {
        try withHistoryServer { server, port, _ in
            let client = try ProtocolClient(port: port)
            let ack = try client.subscribe("h.news")
            let epoch = try #require(ack["epoch"] as? String)
            #expect(epoch.count == 16 && UInt64(epoch, radix: 16) != nil)
            #expect(ack["offset"] as? Int == 0)
            #expect(ack["recovered"] == nil)
            #expect(server.pubsub.position(of: "h.news") == StreamPosition(epoch: epoch, offset: 0))
            publish(server, "h.news", 1...2)
            #expect(try client.messages(2).map(\.offset) == [1, 2])
            try client.send(#"{"type":"publish","topic":"h.news","data":3,"id":9}"#)
            var frames = [try client.next(), try client.next()]
            frames.sort { ($0["type"] as! String) < ($1["type"] as! String) }
            #expect(frames[0]["type"] as? String == "ack" && frames[0]["offset"] as? Int == 3 && frames[0]["epoch"] as? String == epoch)
            #expect(frames[1]["offset"] as? Int == 3 && frames[1]["data"] as? Int == 3)
            // A topic without history: no offsets, as before.
            let plain = try client.subscribe("other")
            #expect(plain["epoch"] == nil && plain["offset"] == nil)
            server.pubsub.publish("other", json: "1")
            #expect(try client.next()["offset"] == nil)
        }
    }

    @Test("Cut while 1,000 messages are published, back with its position: exactly the missed ones, in order, once", arguments: ["client", "server"])
    func recoversAfterACut(cutBy side: String) throws {
        try withHistoryServer { server, port, connections in
            let first = try ProtocolClient(port: port, name: "reader")
            let epoch = try #require(first.subscribe("h.feed")["epoch"] as? String)
            publish(server, "h.feed", 1...10)
            #expect(try first.messages(10).map(\.offset) == Array(1...10))
            if side == "client" { first.socket.socket.resetClose() } else { connections.cut("reader") }
            publish(server, "h.feed", 11...1_010)

            let again = try ProtocolClient(port: port, name: "reader")
            let ack = try again.subscribe("h.feed", since: (epoch, 10))
            #expect(ack["recovered"] as? Bool == true)
            #expect(ack["offset"] as? Int == 1_010 && ack["epoch"] as? String == epoch)
            let missed = try again.messages(1_000)
            #expect(missed.map(\.offset) == Array(11...1_010))
            #expect(missed.map(\.data) == Array(11...1_010))
            publish(server, "h.feed", [1_011])
            #expect(try again.messages(1).map(\.offset) == [1_011])
            // Each loop forgets the marks of connections that ended.
            again.socket.socket.resetClose()
            let contexts = try #require(server.loopContexts)
            func marksLeft() -> Int {
                let count = Locked(0)
                for context in contexts { context.loop.runAndWait { count.withLock { $0 += context.historyMarks.count } } }
                return count.withLock { $0 }
            }
            #expect(eventually { marksLeft() == 0 })
        }
    }

    @Test("Recovery racing publishes from four threads: no gap, no duplicate")
    func recoveryRacingPublishes() async throws {
        try await onOwnThread { () throws -> Void in
            try withHistoryServer { server, port, _ in
                let first = try ProtocolClient(port: port)
                let epoch = try #require(first.subscribe("h.race")["epoch"] as? String)
                publish(server, "h.race", 1...5)
                _ = try first.messages(5)
                first.socket.socket.resetClose()
                let publishers = (0..<4).map { thread in
                    Thread { publish(server, "h.race", (0..<500).map { 1_000 * (thread + 1) + $0 }) }
                }
                for thread in publishers { thread.start() }
                let again = try ProtocolClient(port: port)
                let ack = try again.subscribe("h.race", since: (epoch, 5))
                #expect(ack["recovered"] as? Bool == true)
                let offsets = try again.messages(2_000).map(\.offset)
                #expect(offsets == Array(6...2_005))
            }
        }
    }

    @Test("Messages in flight to the loop when a client subscribes reach it once: replayed, not delivered again")
    func inFlightAtSubscribe() throws {
        // One loop, and a watcher on it, so publishes made while the late
        // client's subscribe is handled are queued for that loop and run
        // after the replay that already holds them.
        try withHistoryServer(loopCount: 1, beforeSubscribing: { server, socket, topic in
            if socket.userData == "late" { publish(server, topic, 1...100) }
        }) { server, port, _ in
            let watcher = try ProtocolClient(port: port, name: "watcher")
            let epoch = try #require(watcher.subscribe("h.flight")["epoch"] as? String)
            let late = try ProtocolClient(port: port, name: "late")
            let ack = try late.subscribe("h.flight", since: (epoch, 0))
            #expect(ack["recovered"] as? Bool == true && ack["offset"] as? Int == 100)
            #expect(try late.messages(100).map(\.offset) == Array(1...100))
            publish(server, "h.flight", [101])
            #expect(try late.messages(1).map(\.offset) == [101])
            #expect(try watcher.messages(101).map(\.offset) == Array(1...101))
        }
    }

    @Test("Missed more than the ring holds: recovered false, too_far, nothing replayed")
    func tooFar() throws {
        try withHistoryServer { server, port, _ in
            let first = try ProtocolClient(port: port)
            let epoch = try #require(first.subscribe("small.t")["epoch"] as? String)
            first.socket.socket.resetClose()
            publish(server, "small.t", 1...25)
            let again = try ProtocolClient(port: port)
            let ack = try again.subscribe("small.t", since: (epoch, 0))
            #expect(ack["recovered"] as? Bool == false)
            #expect(ack["reason"] as? String == "too_far")
            #expect(ack["offset"] as? Int == 25)
            publish(server, "small.t", [26])
            #expect(try again.messages(1).map(\.offset) == [26])
            // Within the ring it recovers.
            let third = try ProtocolClient(port: port)
            #expect(try third.subscribe("small.t", since: (epoch, 20))["recovered"] as? Bool == true)
            #expect(try third.messages(6).map(\.offset) == Array(21...26))
        }
    }

    @Test("After a server restart the old position's epoch is told apart")
    func epochAfterRestart() throws {
        var old = ""
        try withHistoryServer { server, port, _ in
            let client = try ProtocolClient(port: port)
            old = try #require(client.subscribe("h.x")["epoch"] as? String)
            publish(server, "h.x", 1...3)
        }
        try withHistoryServer { server, port, _ in
            let client = try ProtocolClient(port: port)
            let ack = try client.subscribe("h.x", since: (old, 3))
            #expect(ack["recovered"] as? Bool == false)
            #expect(ack["reason"] as? String == "epoch")
            #expect(ack["epoch"] as? String != old && ack["offset"] as? Int == 0)
        }
    }

    @Test("A quiet topic whose messages expired still recovers a current position; an older one reads expired")
    func quietTopic() throws {
        try withHistoryServer { server, port, _ in
            let first = try ProtocolClient(port: port)
            let epoch = try #require(first.subscribe("brief.t")["epoch"] as? String)
            publish(server, "brief.t", 1...2)
            _ = try first.messages(2)
            first.socket.socket.resetClose()
            Thread.sleep(forTimeInterval: 0.3)
            let again = try ProtocolClient(port: port)
            #expect(try again.subscribe("brief.t", since: (epoch, 2))["recovered"] as? Bool == true)
            let older = try ProtocolClient(port: port)
            let ack = try older.subscribe("brief.t", since: (epoch, 1))
            #expect(ack["recovered"] as? Bool == false && ack["reason"] as? String == "expired")
        }
    }

    @Test(arguments: [
        #""since":5"#,
        #""since":{"epoch":"0000000000000001"}"#,
        #""since":{"offset":1}"#,
        #""since":{"epoch":"0000000000000001","offset":-1}"#,
        #""since":{"epoch":"0000000000000001","offset":1.5}"#,
        #""since":{"epoch":"0000000000000001","offset":1e300}"#,
        #""since":{"epoch":"0000000000000001","offset":true}"#,
        #""since":{"epoch":"0000000000000001","offset":"1"}"#,
        #""since":{"epoch":5,"offset":1}"#,
        #""since":{"epoch":"","offset":1}"#,
        #""since":{"epoch":"\#(String(repeating: "e", count: 10_000))","offset":1}"#,
    ])
    func badSince(field: String) throws {
        try withHistoryServer { _, port, _ in
            let client = try ProtocolClient(port: port)
            try client.send(#"{"type":"subscribe","topic":"h.t","id":4,\#(field)}"#)
            let error = try client.next()
            #expect(error["type"] as? String == "error" && error["code"] as? String == "bad_request" && error["id"] as? Int == 4)
            #expect(try client.subscribe("h.t")["offset"] as? Int == 0)
        }
    }

    @Test("A position past the stream is a bad request; since on a topic without history reads no_history")
    func aheadAndNoHistory() throws {
        try withHistoryServer { server, port, _ in
            let client = try ProtocolClient(port: port)
            let epoch = try #require(client.subscribe("h.t")["epoch"] as? String)
            let other = try ProtocolClient(port: port)
            try other.send(#"{"type":"subscribe","topic":"h.t","id":2,"since":{"epoch":"\#(epoch)","offset":7}}"#)
            #expect(try other.next()["code"] as? String == "bad_request")
            #expect(server.pubsub.subscriberCount(of: "h.t") == 1)
            let ack = try other.subscribe("plain", since: (epoch, 1))
            #expect(ack["recovered"] as? Bool == false && ack["reason"] as? String == "no_history")
        }
    }

    @Test("Application code reads positions and pages of history")
    func historyAPI() throws {
        try withHistoryServer { server, _, _ in
            #expect(server.pubsub.position(of: "plain") == nil)
            #expect(throws: HistoryError.notKept) { try server.pubsub.history(of: "plain") }
            let start = try #require(server.pubsub.position(of: "h.api"))
            #expect(start.offset == 0)
            for value in 1...5 { server.pubsub.publish("h.api", json: #"{"n":\#(value)}"#) }
            let latest = try server.pubsub.history(of: "h.api", limit: 2)
            #expect(latest.messages == [HistoryMessage(offset: 4, json: #"{"n":4}"#), HistoryMessage(offset: 5, json: #"{"n":5}"#)])
            #expect(latest.position == StreamPosition(epoch: start.epoch, offset: 5))
            let page = try server.pubsub.history(of: "h.api", since: start, limit: 3)
            #expect(page.messages.map(\.offset) == [1, 2, 3] && page.position.offset == 3)
            #expect(try server.pubsub.history(of: "h.api", since: page.position).messages.map(\.offset) == [4, 5])
            #expect(throws: HistoryError.epoch) { try server.pubsub.history(of: "h.api", since: StreamPosition(epoch: "x", offset: 1)) }
            #expect(throws: HistoryError.ahead) { try server.pubsub.history(of: "h.api", since: StreamPosition(epoch: start.epoch, offset: 9)) }
            for value in 1...20 { server.pubsub.publish("small.api", json: String(value)) }
            let small = try #require(server.pubsub.position(of: "small.api"))
            #expect(throws: HistoryError.tooFar) { try server.pubsub.history(of: "small.api", since: StreamPosition(epoch: small.epoch, offset: 2)) }
        }
    }

    @Test("The HTTP history route: load the state, then subscribe from where it ends")
    func historyRoute() throws {
        try withHistoryServer { server, port, _ in
            for value in 1...5 { server.pubsub.publish("h.route", json: #"{"n":\#(value)}"#) }
            let get = { (query: String) throws -> TestResponse in try TestSocket(port: port).get("/history?" + query) }
            let latest = try get("key=k&topic=h.route&limit=2")
            #expect(latest.status == 200)
            let body = try #require(JSONSerialization.jsonObject(with: Data(latest.body)) as? [String: Any])
            let epoch = try #require(body["epoch"] as? String)
            #expect(body["offset"] as? Int == 5 && body["topic"] as? String == "h.route")
            let messages = try #require(body["messages"] as? [[String: Any]])
            #expect(messages.map { $0["offset"] as? Int } == [4, 5])
            #expect(messages.map { ($0["data"] as? [String: Any])?["n"] as? Int } == [4, 5])
            let page = try get("key=k&topic=h.route&epoch=\(epoch)&offset=1&limit=2")
            #expect(page.bodyText.contains(#""offset":3,"messages":[{"offset":2,"#))
            // Subscribing from the page's end misses nothing and repeats nothing.
            let client = try ProtocolClient(port: port)
            #expect(try client.subscribe("h.route", since: (epoch, 3))["recovered"] as? Bool == true)
            #expect(try client.messages(2).map(\.offset) == [4, 5])

            for (query, status, code) in [
                ("key=k&topic=plain", 404, "not_kept"),
                ("key=k&topic=h.secret", 403, "forbidden"),
                ("topic=h.route", 403, "forbidden"),
                ("key=k", 400, "bad_request"),
                ("key=k&topic=h.route&limit=0", 400, "bad_request"),
                ("key=k&topic=h.route&limit=5000", 400, "bad_request"),
                ("key=k&topic=h.route&offset=1", 400, "bad_request"),
                ("key=k&topic=h.route&epoch=\(epoch)&offset=-1", 400, "bad_request"),
                ("key=k&topic=h.route&epoch=\(epoch)&offset=99", 409, "ahead"),
                ("key=k&topic=h.route&epoch=0000000000000001&offset=1", 409, "epoch"),
            ] {
                let response = try get(query)
                #expect(response.status == status, "\(query)")
                #expect(response.bodyText.contains(#""error":"\#(code)""#), "\(query): \(response.bodyText)")
            }
        }
    }

    @Test("Chaos on the history path: 300 seeded clients subscribe since good and bad positions, publish, and break off mid-frame while four threads publish; a good client still recovers exactly and nothing is left behind")
    func chaos() async throws {
        try await onOwnThread { () throws -> Void in
            try withHistoryServer { server, port, _ in
                let watcher = try ProtocolClient(port: port, name: "watcher")
                let epoch = try #require(watcher.subscribe("h.chaos")["epoch"] as? String)
                let stop = Locked(false)
                let publishers = (0..<4).map { _ in
                    Thread {
                        while !stop.withLock({ $0 }) {
                            server.pubsub.publish("h.chaos", json: #"{"text":"some chaos","n":1}"#)
                            usleep(2_000)
                        }
                    }
                }
                for thread in publishers { thread.start() }
                var random = SeededGenerator(seed: 0x15_15)
                for index in 0..<300 {
                    let socket = try TestSocket(port: port)
                    let client = TestWebSocket(upgraded: socket, response: try TestWebSocket.handshake(socket, path: "/pubsub?name=chaos\(index)"))
                    let offset = random.below(3) == 0 ? random.next() >> random.below(64) : random.below(2_000)
                    let requests = [
                        #"{"type":"subscribe","topic":"h.chaos","id":1,"since":{"epoch":"\#(epoch)","offset":\#(offset)}}"#,
                        #"{"type":"subscribe","topic":"h.chaos","id":2,"since":{"epoch":"\#(String(random.next(), radix: 16))","offset":3}}"#,
                        #"{"type":"subscribe","topic":"h.chaos","since":{"epoch":\#(random.below(9)),"offset":[]}}"#,
                        #"{"type":"publish","topic":"h.chaos","data":{"from":\#(index)},"id":3}"#,
                        #"{"type":"unsubscribe","topic":"h.chaos"}"#,
                        #"{"type":"subscribe","topic":"h.other\#(random.below(4))","id":4,"since":{"epoch":"\#(epoch)","offset":0}}"#,
                    ]
                    for _ in 0..<random.below(6) { try client.send(text: requests[Int(random.below(UInt64(requests.count)))]) }
                    switch random.below(5) {
                    case 0: socket.resetClose()
                    case 1:
                        // Half a frame, then a reset.
                        try socket.send([0x81, 0xFE, 0x01, 0x00, 1, 2, 3, 4, 0x7B])
                        socket.resetClose()
                    case 2:
                        try socket.send([0x81, 0x85, 0, 0])
                        socket.shutdownWrite()
                        socket.close()
                    case 3:
                        // Reads a little of what it asked for, then goes.
                        socket.timeoutMilliseconds = 50
                        _ = try? socket.receiveSome()
                        socket.close()
                    default:
                        try client.send(opcode: .close, [0x03, 0xE8])
                        socket.close()
                    }
                }
                stop.withLock { $0 = true }
                for thread in publishers { while !thread.isFinished { usleep(1_000) } }
                // The watcher saw one unbroken sequence; a late client recovers the last 50 exactly.
                let top = try #require(server.pubsub.position(of: "h.chaos")).offset
                let late = try ProtocolClient(port: port, name: "late")
                let ack = try late.subscribe("h.chaos", since: (epoch, top - 50))
                #expect(ack["recovered"] as? Bool == true)
                #expect(try late.messages(50).map(\.offset) == Array((top - 49)...top))
                var expected: UInt64 = 1
                while expected <= top {
                    let frame = try watcher.next()
                    guard frame["type"] as? String == "message" else { continue }
                    #expect(frame["offset"] as? UInt64 == expected)
                    expected += 1
                }
                late.socket.socket.close()
                watcher.socket.socket.close()
                #expect(eventually(seconds: 10) { server.webSocketCount == 0 })
                let contexts = try #require(server.loopContexts)
                let marks = Locked(0)
                for context in contexts { context.loop.runAndWait { marks.withLock { $0 += context.historyMarks.count } } }
                #expect(marks.withLock { $0 } == 0)
            }
        }
    }

    @Test("publishKept returns the message's place; a topic without history throws notKept")
    func publishKept() async throws {
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, history: TopicHistory(rules: [.prefix("h.")])))
        try server.start()
        defer { try? server.stop() }
        let first = try await server.pubsub.publishKept("h.k", json: "1")
        let second = try await server.pubsub.publishKept("h.k", json: "2")
        #expect(first.offset == 1 && second == StreamPosition(epoch: first.epoch, offset: 2))
        await #expect(throws: HistoryError.notKept) { try await server.pubsub.publishKept("plain", json: "1") }
    }

    @Test("History with a backplane is refused at start")
    func refusedWithBackplane() throws {
        let server = Server(configuration: ServerConfiguration(
            port: 0, history: TopicHistory(rules: [.prefix("")]), backplane: NoBackplane()))
        #expect(throws: ServerError.historyWithBackplane) { try server.start() }
    }
}

private struct NoBackplane: Backplane {
    func start(_ inbox: BackplaneInbox) throws {}
    func publish(_ topic: String, payload: [UInt8], isText: Bool) {}
    func topicsChanged(_ topic: String) {}
    func stop() {}
}
