import Testing
import TestSupport
import SwitchboardSync
import SwitchboardWire
@testable import Switchboard

// The authenticators run as tasks on the cooperative pool, which the
// suite's synchronous tests may hold for a while: every wait for what they
// do is long, and the clients' blocking calls run off the pool.
private let poolWait: Int32 = 180_000
/// The request timeout also bounds an authentication: long here, but in
/// the test of the timeout itself.
private let patient = HTTPConfiguration(requestTimeout: .seconds(180))

/// Opens an upgrade on its own socket (without waiting for the answer).
private func requestUpgrade(port: Int, path: String, sourceHost: String? = nil, trailing: [UInt8] = []) throws -> TestSocket {
    let socket = try TestSocket(port: port, sourceHost: sourceHost)
    socket.timeoutMilliseconds = poolWait
    try socket.send(Array(TestWebSocket.upgradeRequest(path: path).utf8) + trailing)
    return socket
}

@Suite("async authenticate at the handshake")
struct AsyncAuthenticationTests {
    /// Each upgrade's `authenticate` waits on a gate the test opens: all of
    /// them must be waiting at once (they run concurrently, not one by one)
    /// while an echo client on the same, single loop is served as usual.
    @Test("500 upgrades wait in their authenticators together while the loop serves others, then all open")
    func manyWaitTogether() async throws {
        raiseFileLimit()
        let gate = OneShotSignal()
        let inFlight = Locked((now: 0, most: 0))
        let recorder = Recorder()
        defer { recorder.releaseSockets() }
        let count = 500
        try await withServer(loops: 1, http: patient, routes: { router in
            router.webSocket("/ws", handler: EchoHandler(recorder: recorder))
            router.webSocket("/slow", handler: EchoHandler(recorder: recorder)) { request in
                inFlight.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                await gate.wait()
                inFlight.withLock { $0.now -= 1 }
                return request.queryValue("user") ?? "anon"
            }
        }) { _, port in
            let sockets = try await onOwnThread {
                try (0..<count).map { index in
                    try requestUpgrade(port: port, path: "/slow?user=u\(index)", sourceHost: "127.0.0.\(1 + index % 20)")
                }
            }
            #expect(await eventually(seconds: Double(poolWait / 1000)) { inFlight.withLock { $0.now } == count },
                    "\(inFlight.withLock { $0.now }) of \(count) waiting at once")
            let echoes = try await onOwnThread {
                let client = try TestWebSocket(port: port, path: "/ws")
                return try (0..<20).map { index in
                    try client.send(text: "m\(index)")
                    return try client.receiveNonPing().text
                }
            }
            #expect(echoes == (0..<20).map { "m\($0)" })

            gate.fire()
            let (statuses, echo) = try await onOwnThread {
                let heads = try sockets.map { try $0.receiveHead() }
                let client = TestWebSocket(upgraded: sockets[7], response: heads[7])
                try client.send(text: "after the wait")
                return (heads.map(\.status), try client.receiveNonPing().text)
            }
            #expect(statuses.filter { $0 == 101 }.count == count)
            #expect(inFlight.withLock { $0.most } == count)
            #expect(echo == "after the wait")
            #expect(recorder.all.contains { $0.hasPrefix("open u7 ") })
            for socket in sockets { socket.close() }
            recorder.releaseSockets()
        }
    }

    @Test("a refusal thrown after an await answers its status; frames sent behind the request are not lost")
    func refusalAndEarlyFrames() async throws {
        let recorder = Recorder()
        defer { recorder.releaseSockets() }
        try await withServer(http: patient, routes: { router in
            router.webSocket("/gated", handler: EchoHandler(recorder: recorder)) { request in
                try await Task.sleep(for: .milliseconds(20))
                guard request.queryValue("token") == "secret" else { throw HTTPError(.forbidden, "no entry") }
                return "member"
            }
        }) { _, port in
            let (refused, early) = try await onOwnThread {
                let refused = try requestUpgrade(port: port, path: "/gated?token=nope").receiveResponse()
                // The client's first frame in the same write as its request.
                let frame = WebSocketFrame.encode(opcode: .text, payload: Array("early".utf8), fin: true, rsv1: false, maskingKey: (1, 2, 3, 4))
                let socket = try requestUpgrade(port: port, path: "/gated?token=secret", trailing: frame)
                let head = try socket.receiveHead()
                let client = TestWebSocket(upgraded: socket, response: head)
                return (refused, (head.status, try client.receiveNonPing().text))
            }
            #expect(refused.status == 403 && refused.bodyText.contains("no entry"))
            #expect(early.0 == 101 && early.1 == "early")
            recorder.releaseSockets()
        }
    }

    @Test("an authenticator that does not answer is cut by the request timeout with 503, and cancelled")
    func slowAuthenticatorIsCut() async throws {
        let cancelled = OneShotSignal()
        let recorder = Recorder()
        try await withServer(http: HTTPConfiguration(requestTimeout: .milliseconds(300)), routes: { router in
            router.webSocket("/stuck", handler: EchoHandler(recorder: recorder)) { _ in
                do {
                    try await Task.sleep(for: .seconds(3600))
                } catch {
                    cancelled.fire()
                    throw error
                }
                return "never"
            }
        }) { _, port in
            let (status, closed) = try await onOwnThread {
                let socket = try requestUpgrade(port: port, path: "/stuck")
                let response = try socket.receiveResponse()
                return (response.status, socket.isClosedByPeer())
            }
            #expect(status == 503 && closed)
            #expect(await eventually(seconds: Double(poolWait / 1000)) { cancelled.hasFired })
        }
    }

    @Test("a client that leaves while its authentication runs leaves nothing behind")
    func clientLeavesWhilePending() async throws {
        let gate = OneShotSignal()
        let entered = Locked(0)
        let recorder = Recorder()
        defer { recorder.releaseSockets() }
        try await withServer(http: patient, routes: { router in
            router.webSocket("/slow", handler: EchoHandler(recorder: recorder)) { _ in
                entered.withLock { $0 += 1 }
                await gate.wait()
                return "late"
            }
        }) { server, port in
            let sockets = try await onOwnThread { try (0..<10).map { _ in try requestUpgrade(port: port, path: "/slow") } }
            #expect(await eventually(seconds: Double(poolWait / 1000)) { entered.withLock { $0 } == 10 })
            for (index, socket) in sockets.enumerated() {
                if index.isMultiple(of: 2) { socket.resetClose() } else { socket.close() }
            }
            gate.fire()
            // The clients' leaving was noticed while they waited: the
            // answers find nothing to open.
            let loops = try #require(server.group).loops
            #expect(await eventually(seconds: Double(poolWait / 1000)) { loops.allSatisfy { $0.liveConnectionCount == 0 } })
            #expect(!recorder.all.contains { $0.hasPrefix("open") }, "\(recorder.all)")
        }
    }

    @Test("the pub/sub endpoint takes an async authorizer")
    func pubsubEndpointAwaits() async throws {
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, http: patient))
        server.pubsubEndpoint("/ps", authorizer: PubSubAuthorizer<String>(
            authenticate: { request in
                try await Task.sleep(for: .milliseconds(5))
                guard let user = request.queryValue("user") else { throw HTTPError(.unauthorized) }
                return user
            },
            canSubscribe: { socket, topic in topic == "news.\(socket.userData)" }
        ))
        let port = try server.start().port
        let (refused, ack) = try await onOwnThread {
            let refused = try requestUpgrade(port: port, path: "/ps").receiveResponse().status
            // Its authenticator waits for a thread of the pool: a patient
            // client (the default 5 s timed out in CI beside the suite).
            let upgrade = try requestUpgrade(port: port, path: "/ps?user=ann")
            let client = TestWebSocket(upgraded: upgrade, response: try upgrade.receiveHead())
            try client.send(text: #"{"type":"subscribe","topic":"news.ann","id":1}"#)
            return (refused, try client.receiveNonPing().text)
        }
        #expect(refused == 401)
        #expect(ack == #"{"type":"ack","id":1}"#)
        try await server.stop()
    }
}
