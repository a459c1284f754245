import Foundation
import Glibc
import Testing
import TestSupport
@testable import Switchboard
import SwitchboardSync
import SwitchboardWire

/// A host with its own HTTP server: accepts on its own socket, reads the
/// request head itself, and hands upgrade requests to Switchboard.
final class ForeignHost: @unchecked Sendable {
    let listener: Int32
    let port: Int

    convenience init(handOffTo server: Server, connections: Int) throws {
        try self.init(connections: connections) { socket, request, leftover in
            try? server.handleUpgrade(socket: socket, request: request, bufferedBytes: leftover)
        }
    }

    /// Accepts `connections` clients on a thread of its own, reads each
    /// request head and gives it to `handOff` with what came after it.
    init(connections: Int, handOff: @escaping @Sendable (Int32, HTTPRequest, [UInt8]) -> Void) throws {
        // Room for every client a test opens at once (a full backlog drops SYNs: 1 s retries).
        let (listening, port) = try TestSocketPort.listening(backlog: 1024)
        listener = listening
        self.port = port
        Thread.detachNewThread {
            for _ in 0..<connections {
                let client = accept(listening, nil, nil)
                guard client >= 0 else { return }
                // Read until the end of the head; keep what came after it.
                var bytes: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 4096)
                while TestResponse.endOfHead(bytes) == nil {
                    let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                    guard count > 0 else { break }
                    bytes += chunk[0..<count]
                }
                guard let end = TestResponse.endOfHead(bytes) else { close(client); continue }
                let request = Self.parse(String(decoding: bytes[0..<end], as: UTF8.self))
                handOff(client, request, Array(bytes[(end + 4)...]))
            }
        }
    }

    deinit { close(listener) }

    /// The host's own (minimal) request parsing.
    static func parse(_ head: String) -> HTTPRequest {
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        var fields = HTTPFields()
        var authority: String?
        for line in lines.dropFirst() {
            let pair = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair[0].lowercased() == "host" { authority = pair[1]; continue }
            if let name = HTTPField.Name(pair[0]) { fields.append(HTTPField(name: name, value: pair[1])) }
        }
        return HTTPRequest(method: HTTPRequest.Method(String(parts[0]))!, scheme: nil, authority: authority, path: String(parts[1]), headerFields: fields)
    }
}

extension TestResponse {
    static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        return (0...(bytes.count - 4)).first { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }
    }
}

@Suite("Hand-off from another HTTP stack")
struct HandOffTests {
    @Test func switchboardTakesOverAnAcceptedSocketWithItsBufferedBytes() throws {
        let recorder = Recorder()
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2))
        server.webSocket("/ws", handler: EchoHandler(recorder: recorder))
        try server.start()
        defer { try? server.stop(); recorder.releaseSockets() }
        let host = try ForeignHost(handOffTo: server, connections: 3)

        // Handshake and a first frame in one write: the frame is among the
        // bytes the host read past the head, and must not be lost.
        let client = try TestSocket(port: host.port)
        let handshake = "GET /ws?user=handed HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try client.send(Array(handshake.utf8) + WebSocketFrame.encode(opcode: .text, payload: Array("early".utf8), maskingKey: (9, 8, 7, 6)))
        let head = try client.receiveHead()
        #expect(head.status == 101)
        #expect(head.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(Array(try client.receive(count: 7).dropFirst(2)) == Array("early".utf8))
        try client.send(WebSocketFrame.encode(opcode: .text, payload: Array("later".utf8), maskingKey: (1, 2, 3, 4)))
        #expect(Array(try client.receive(count: 7).dropFirst(2)) == Array("later".utf8))
        #expect(recorder.waitFor("open handed") != nil, "\(recorder.all)")

        // Refusals are answered on the handed-over socket too.
        let unknown = try TestSocket(port: host.port)
        try unknown.send("GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        #expect(try unknown.receiveResponse().status == 404)
        #expect(unknown.isClosedByPeer())
        let forbidden = try TestSocket(port: host.port)
        try forbidden.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        #expect(try forbidden.receiveResponse().status == 403)
    }

    /// An adopted socket whose route authenticates in a task: it is read
    /// only after the answer, and the early frame still arrives first.
    @Test func aHandedOffSocketWaitsForAnAsyncAuthenticator() async throws {
        let recorder = Recorder()
        let server = Server(configuration: ServerConfiguration(
            port: 0, loopCount: 1, http: HTTPConfiguration(requestTimeout: .seconds(180))))
        server.webSocket("/ws", handler: EchoHandler(recorder: recorder)) { request in
            try await Task.sleep(for: .milliseconds(20))
            guard let user = request.queryValue("user") else { throw HTTPError(.unauthorized) }
            return user
        }
        try server.start()
        let host = try ForeignHost(handOffTo: server, connections: 2)
        let (status, early, refused) = try await onOwnThread {
            let client = try TestSocket(port: host.port)
            client.timeoutMilliseconds = 180_000
            try client.send(Array(TestWebSocket.upgradeRequest(path: "/ws?user=later").utf8)
                + WebSocketFrame.encode(opcode: .text, payload: Array("early".utf8), maskingKey: (9, 8, 7, 6)))
            let head = try client.receiveHead()
            let socket = TestWebSocket(upgraded: client, response: head)
            let early = try socket.receiveNonPing().text
            let anonymous = try TestSocket(port: host.port)
            anonymous.timeoutMilliseconds = 180_000
            try anonymous.send(TestWebSocket.upgradeRequest(path: "/ws"))
            return (head.status, early, try anonymous.receiveResponse().status)
        }
        #expect(status == 101 && early == "early")
        #expect(refused == 401)
        recorder.releaseSockets()
        try await server.stop()
    }

    /// The host's own authentication attaches its user (`hostContext`);
    /// the async form tells the host how each hand-off ended.
    @Test func theAsyncFormTellsTheHostHowEachHandOffEnded() async throws {
        let recorder = Recorder()
        let gate = OneShotSignal()
        let server = Server(configuration: ServerConfiguration(
            port: 0, loopCount: 1, http: HTTPConfiguration(requestTimeout: .seconds(180))))
        server.webSocket("/ws", handler: EchoHandler(recorder: recorder)) { request in
            guard let user = request.hostContext as? String else { throw HTTPError(.unauthorized) }
            return user
        }
        server.webSocket("/gated", handler: EchoHandler(recorder: recorder)) { _ in
            await gate.wait()
            return "late"
        }
        try server.start()
        let outcomes = Locked<[String: HandOffOutcome]>([:])
        let host = try ForeignHost(connections: 5) { socket, request, leftover in
            // The host's own check: a bearer token names the user.
            let user = request.headerFields[.authorization].map { String($0.dropFirst("Bearer ".count)) }
            Task {
                let outcome = await server.handleUpgrade(socket: socket, request: request, bufferedBytes: leftover, hostContext: user)
                outcomes.withLock { $0[request.path ?? ""] = outcome }
            }
        }
        let statuses = try await onOwnThread {
            func status(_ path: String, _ headers: [String] = []) throws -> Int {
                let socket = try TestSocket(port: host.port)
                socket.timeoutMilliseconds = 180_000
                return try TestWebSocket.handshake(socket, path: path, headers: headers).status
            }
            let leaving = try TestSocket(port: host.port)
            try leaving.send(TestWebSocket.upgradeRequest(path: "/gated"))
            return try [
                status("/ws?n=1", ["Authorization: Bearer ann"]), status("/ws?n=2"), status("/nowhere"),
                status("/ws?n=4", ["Authorization: Bearer bob", "Origin: https://evil.example"]),
            ]
        }
        #expect(statuses == [101, 401, 404, 403])
        let paths = ["/ws?n=1", "/ws?n=2", "/nowhere", "/ws?n=4"]
        #expect(await eventually(seconds: 180) { outcomes.withLock { outcomes in paths.allSatisfy { outcomes[$0] != nil } } })
        #expect(outcomes.withLock { $0["/ws?n=1"] } == .upgraded)
        #expect(outcomes.withLock { $0["/ws?n=2"] } == .refused(.unauthorized))
        #expect(outcomes.withLock { $0["/nowhere"] } == .refused(.notFound))
        #expect(outcomes.withLock { $0["/ws?n=4"] } == .refused(.forbidden))
        #expect(recorder.waitFor("open ann") != nil, "\(recorder.all)")
        // The fifth client left before its authentication answered (its
        // socket closed when `leaving` went out of scope).
        #expect(await eventually(seconds: 180) { outcomes.withLock { $0["/gated"] } == .clientLeft })
        gate.fire()
        recorder.releaseSockets()
        try await server.stop()
        #expect(await server.handleUpgrade(socket: dup(0), request: HTTPRequest(method: .get, scheme: nil, authority: "t", path: "/ws")) == .notTaken)
    }

    /// A server whose host owns the port: no listener of its own, its
    /// loops serve what is handed over.
    @Test func aServerWithoutAListenerServesHandedOffConnections() throws {
        let recorder = Recorder()
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1))
        server.webSocket("/ws", handler: EchoHandler(recorder: recorder))
        try server.startWithoutListening()
        #expect(server.address == nil)
        #expect(server.description == "Switchboard.Server(no listener, 1 loops)")
        #expect(throws: ServerError.alreadyStarted) { try server.start() }
        let host = try ForeignHost(handOffTo: server, connections: 1)
        let client = try TestSocket(port: host.port)
        let socket = TestWebSocket(upgraded: client, response: try TestWebSocket.handshake(client, path: "/ws?user=hosted"))
        #expect(socket.response.status == 101)
        try socket.send(text: "through the host")
        #expect(try socket.receiveNonPing().text == "through the host")
        try server.stop()
        #expect(try socket.receiveNonPing().closeCode == 1001)
        recorder.releaseSockets()
    }

    /// Hand-offs racing the server's stop, some waiting in an async
    /// authenticator: every one settles (none hangs its host), and every
    /// socket is closed by the time the server has stopped.
    @Test func handOffsRacingAStopAllSettleAndCloseTheirSockets() async throws {
        let recorder = Recorder()
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2, shutdownGracePeriod: .milliseconds(200)))
        server.webSocket("/ws", handler: EchoHandler(recorder: recorder))
        server.webSocket("/slow", handler: EchoHandler(recorder: recorder)) { _ in
            // Longer than the grace period: some are still waiting here when the server stops.
            try await Task.sleep(for: .milliseconds(400))
            return "slow"
        }
        try server.startWithoutListening()
        let count = 200
        let settled = Locked<[HandOffOutcome]>([])
        let host = try ForeignHost(connections: count) { socket, request, leftover in
            Task {
                let outcome = await server.handleUpgrade(socket: socket, request: request, bufferedBytes: leftover)
                settled.withLock { $0.append(outcome) }
            }
        }
        let clients = try await onOwnThread {
            try (0..<count).map { index in
                let client = try TestSocket(port: host.port)
                client.timeoutMilliseconds = 180_000
                try client.send(TestWebSocket.upgradeRequest(path: index % 2 == 0 ? "/ws?user=u\(index)" : "/slow"))
                if index == count / 2 {
                    // Stop while some are settled, some in flight, some to come.
                    _ = eventually(seconds: 30) { settled.withLock { $0.count } >= count / 4 }
                    try server.stop()
                }
                return client
            }
        }
        // Each hand-off settles in a task of the cooperative pool, which
        // the suite's synchronous tests may hold: long waits.
        let allSettled = await eventually(seconds: 180) { settled.withLock { $0.count } == count }
        #expect(allSettled, "\(settled.withLock { $0.count }) of \(count) hand-offs settled")
        // Each client is answered (101, then 1001) or closed: none is left open.
        let unclosed = try await onOwnThread { clients.filter { (try? $0.receiveUntilClosed()) == nil }.count }
        #expect(unclosed == 0)
        let outcomes = Dictionary(grouping: settled.withLock { $0 }, by: { "\($0)" }).mapValues(\.count)
        print("hand-offs racing a stop: \(outcomes)")
        // No client left: those cut short by the stop were not taken, or,
        // arriving while it drained, answered 503 (as upgrades that come
        // to the server's own port then are).
        #expect(Set(outcomes.keys).isSubset(of: ["upgraded", "notTaken", "refused(503 Service Unavailable)"]), "\(outcomes)")
        recorder.releaseSockets()
    }

    @Test func aStoppedServerRefusesAndClosesTheSocket() throws {
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1))
        let pair = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
        defer { pair.deallocate() }
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, pair)
        #expect(throws: ServerError.self) {
            try server.handleUpgrade(socket: pair[0], request: HTTPRequest(method: .get, scheme: nil, authority: "t", path: "/ws"))
        }
        // The socket was closed: the other end reads end-of-file.
        var byte: UInt8 = 0
        #expect(recv(pair[1], &byte, 1, 0) == 0)
        close(pair[1])
    }
}
