import Logging
import ServiceLifecycle
import Testing
import TestSupport
import Switchboard

// The README's code, kept compiling here: when the API changes, this file
// fails to build before the README misleads anyone.

private struct Chat: WebSocketHandler {
    func authenticate(_ request: Request) throws -> String {
        guard let user = request.queryValue("user") else { throw HTTPError(.unauthorized) }
        return user
    }
    func onOpen(_ socket: WebSocket<String>) { socket.send(text: "welcome \(socket.userData)") }
    func onText(_ socket: WebSocket<String>, _ text: String) { socket.send(text: text) }
    func onClose(_ socket: WebSocket<String>, code: WebSocketCloseCode, reason: String) {}
}

private struct LentEcho: WebSocketHandler {
    func onMessage(_ socket: WebSocket<Void>, _ bytes: RawSpan, isText: Bool) {
        if isText { socket.send(utf8Text: bytes) } else { socket.send(binary: bytes) }
    }
}

private struct Feed: WebSocketHandler {
    func onOpen(_ socket: WebSocket<Void>) { socket.subscribe("prices") }
}

private struct PriceFeed: Service {
    let pubsub: PubSub
    func run() async throws {
        while !Task.isShuttingDownGracefully {
            pubsub.publish("ticks.ACME", json: #"{"price":\#(Double.random(in: 90...110))}"#)
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}

/// The README's session store: answers after a wait, as a database would.
private actor Sessions {
    func user(token: String?) async throws -> String? {
        try await Task.sleep(for: .milliseconds(5))
        return token == "t0ken" ? "ann" : nil
    }
}
private let sessions = Sessions()

private func lookUpUser(_ token: String) -> String? { token == "t0ken" ? "ann" : nil }

private func readmeServer() -> Server {
    let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: 0))
    server.router.get("/health") { _ in .text("ok") }
    server.router.post("/publish/:topic") { request in
        let reached = server.pubsub.publish(request.parameters["topic"]!, binary: request.body)
        return .text("reached \(reached) subscribers")
    }
    server.webSocket("/ws", configuration: WebSocketConfiguration(subprotocols: ["chat.v1"]), handler: Chat())
    server.webSocket("/feed", handler: Feed())
    server.pubsubEndpoint("/pubsub", authorizer: PubSubAuthorizer<String>(
        authenticate: { request in
            guard let user = request.queryValue("token").flatMap(lookUpUser) else { throw HTTPError(.unauthorized) }
            return user
        },
        canSubscribe: { socket, topic in !topic.hasPrefix("admin.") || socket.userData == "admin" },
        canPublish: { socket, topic in topic.hasPrefix("chat.") }
    ))
    server.router.clientScript(at: "/switchboard.js")
    return server
}

@Suite("README snippets")
struct ReadmeSnippetsTests {
    @Test func theTourWorksAsWritten() throws {
        let server = readmeServer()
        let port = try server.start().port
        defer { try? server.stop() }
        let feed = try TestWebSocket(port: port, path: "/feed")
        #expect(eventually { server.pubsub.subscriberCount(of: "prices") == 1 })
        #expect(server.pubsub.publish("prices", text: #"{"AAPL": 231.4}"#) == 1)
        #expect(try feed.receiveNonPing().text == #"{"AAPL": 231.4}"#)
        let response = try TestSocket(port: port).exchange("POST /publish/prices HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx")
        #expect(response.bodyText == "reached 1 subscribers")
        let chat = try TestWebSocket(port: port, path: "/ws?user=ann")
        #expect(try chat.receiveNonPing().text == "welcome ann")
    }

    @Test func compressionIsOneLine() throws {
        let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: 0))
        server.webSocket("/feed", configuration: WebSocketConfiguration(compression: .perMessageDeflate), handler: Feed())
        let port = try server.start().port
        defer { try? server.stop() }
        let feed = try TestWebSocket(port: port, path: "/feed", headers: ["Sec-WebSocket-Extensions: permessage-deflate"])
        #expect(feed.response.header("sec-websocket-extensions")?.hasPrefix("permessage-deflate") == true)
    }

    @Test func historyIsConfiguredAsWritten() throws {
        let server = Server(configuration: ServerConfiguration(port: 0, history: TopicHistory(rules: [
            .prefix("chat."),                                            // 100 messages, 256 KiB, 5 minutes
            .prefix("orders.", HistoryPolicy(maxMessages: 1_000, retention: .seconds(3600))),
        ])))
        server.historyRoute(at: "/history") { request, topic in topic.hasPrefix("chat.") }   // GET /history?topic=chat.lobby
        let port = try server.start().port
        defer { try? server.stop() }
        for value in 1...150 { server.pubsub.publish("chat.lobby", json: String(value)) }
        #expect(try server.pubsub.history(of: "chat.lobby", limit: 1_000).messages.map(\.offset) == Array(51...150))
        #expect(try TestSocket(port: port).get("/history?topic=chat.lobby").status == 200)
        #expect(try TestSocket(port: port).get("/history?topic=orders.x").status == 403)
    }

    @Test func theServiceGroupRunsAsWritten() async throws {
        let server = Server(configuration: ServerConfiguration(port: 0, drainDelay: .milliseconds(200)))
        server.pubsubEndpoint("/prices", authorizer: PubSubAuthorizer())
        server.router.get("/health") { _ in server.isDraining ? Response(status: .serviceUnavailable) : .text("ok") }
        let group = ServiceGroup(services: [server, PriceFeed(pubsub: server.pubsub)], logger: Logger(label: "app"))
        let running = Task { try await group.run() }
        // Long: the suite's synchronous tests may hold the pool's threads.
        try #require(await eventually(seconds: 180) { server.address != nil })
        let port = server.address!.port
        let tick = try await onOwnThread {
            let client = try TestWebSocket(port: port, path: "/prices")
            client.socket.timeoutMilliseconds = 180_000
            try client.send(text: #"{"type":"subscribe","topic":"ticks.ACME"}"#)
            return try client.receiveNonPing().text
        }
        #expect(tick.hasPrefix(#"{"type":"message","topic":"ticks.ACME","data":{"price":"#), "\(tick)")
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test func theAsyncAuthenticateSnippetWorksAsWritten() async throws {
        // A long request timeout: the authenticator's task may wait for a
        // thread of the pool while the suite's synchronous tests hold them.
        let server = Server(configuration: ServerConfiguration(
            host: "127.0.0.1", port: 0, http: HTTPConfiguration(requestTimeout: .seconds(180))))
        server.webSocket("/chat", handler: Chat()) { request in
            guard let user = try await sessions.user(token: request.queryValue("token")) else { throw HTTPError(.unauthorized) }
            return user
        }
        let port = try server.start().port
        let (refused, welcome) = try await onOwnThread {
            let socket = try TestSocket(port: port)
            socket.timeoutMilliseconds = 180_000
            let refused = try TestWebSocket.handshake(socket, path: "/chat?token=nope").status
            let member = try TestSocket(port: port)
            member.timeoutMilliseconds = 180_000
            let welcome = TestWebSocket(upgraded: member, response: try TestWebSocket.handshake(member, path: "/chat?token=t0ken"))
            return (refused, try welcome.receiveNonPing().text)
        }
        #expect(refused == 401 && welcome == "welcome ann")
        try await server.stop()
    }
}
