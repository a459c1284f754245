import Foundation
import Glibc
import Testing
import TestSupport
@testable import Switchboard
import SwitchboardWire

/// A host that writes the answer itself (as Vapor's upgrader does): it asks
/// `prepareUpgrade`, writes the 101 or the refusal, and hands the socket
/// over with `adopt`.
@Suite("Upgrades prepared for a host that writes the 101")
struct PreparedUpgradeTests {
    /// The host's own response writer.
    static func write(_ response: Response, to socket: Int32) {
        var head = "HTTP/1.1 \(response.status.code) \(response.status.reasonPhrase)\r\n"
        for field in response.headerFields { head += "\(field.name): \(field.value)\r\n" }
        if response.status != .switchingProtocols { head += "Content-Length: \(response.body.count)\r\nConnection: close\r\n" }
        let bytes = Array((head + "\r\n").utf8) + response.body
        _ = bytes.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    static func host(for server: Server, connections: Int) throws -> ForeignHost {
        try ForeignHost(connections: connections) { socket, request, leftover in
            Task {
                let prepared = await server.prepareUpgrade(request: request, hostContext: "from the host")
                write(prepared.response, to: socket)
                if prepared.isAccepted {
                    prepared.adopt(socket: socket, bufferedBytes: leftover)
                } else {
                    close(socket)
                }
            }
        }
    }

    @Test func theHostWritesTheHundredAndOneAndSwitchboardTakesTheSocketWithItsBufferedBytes() async throws {
        let recorder = Recorder()
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2, http: HTTPConfiguration(requestTimeout: .milliseconds(300))))
        server.webSocket("/ws", handler: EchoHandler(recorder: recorder))
        server.webSocket("/strict", configuration: WebSocketConfiguration(origins: .allowList(["https://app.example"])), handler: EchoHandler(recorder: recorder))
        server.webSocket("/never", handler: EchoHandler(recorder: recorder)) { _ in
            try await Task.sleep(for: .seconds(60))
            return "never"
        }
        server.webSocket("/context", handler: EchoHandler(recorder: recorder)) { request in
            guard let context = request.hostContext as? String else { throw HTTPError(.unauthorized) }
            return context.replacingOccurrences(of: " ", with: "-")
        }
        try server.startWithoutListening()
        defer { try? server.stop(); recorder.releaseSockets() }
        let host = try Self.host(for: server, connections: 5)
        let port = host.port
        try await onOwnThread {
            // The host answers from a task, and each step below waits for
            // Swift's cooperative pool: beside the whole suite under Thread
            // Sanitizer its synchronous tests hold the pool for over a
            // minute (this test took 139 s in a fresh-clone CI run).
            func connect() throws -> TestSocket {
                let socket = try TestSocket(port: port)
                socket.timeoutMilliseconds = 300_000
                return socket
            }
            // The handshake and a first frame in one write.
            let client = try connect()
            try client.send(Array(TestWebSocket.upgradeRequest(path: "/ws?user=prepared").utf8)
                + WebSocketFrame.encode(opcode: .text, payload: Array("early".utf8), maskingKey: (9, 8, 7, 6)))
            let head = try client.receiveHead()
            #expect(head.status == 101)
            #expect(head.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            #expect(Array(try client.receive(count: 7).dropFirst(2)) == Array("early".utf8))
            try client.send(WebSocketFrame.encode(opcode: .text, payload: Array("later".utf8), maskingKey: (1, 2, 3, 4)))
            #expect(Array(try client.receive(count: 7).dropFirst(2)) == Array("later".utf8))

            func status(_ path: String, _ headers: [String] = []) throws -> Int {
                try TestWebSocket.handshake(try connect(), path: path, headers: headers).status
            }
            #expect(try status("/nowhere") == 404)
            #expect(try status("/strict", ["Origin: https://evil.example"]) == 403)
            // An authenticator that never answers is cut at the request timeout.
            #expect(try status("/never") == 503)
            #expect(try status("/context") == 101)
        }
        #expect(recorder.waitFor("open prepared", seconds: 30) != nil, "\(recorder.all)")
        #expect(recorder.waitFor("open from-the-host", seconds: 30) != nil, "\(recorder.all)")
    }

    @Test func aStoppedServerRefusesWith503AndAdoptClosesTheSocket() async throws {
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1))
        server.webSocket("/ws", handler: EchoHandler(recorder: Recorder()))
        try server.startWithoutListening()
        let request = ForeignHost.parse(TestWebSocket.upgradeRequest(path: "/ws?user=x").replacingOccurrences(of: "\r\n\r\n", with: ""))
        let prepared = await server.prepareUpgrade(request: request)
        #expect(prepared.isAccepted)
        try await server.stop()
        #expect(await server.prepareUpgrade(request: request).response.status == .serviceUnavailable)
        // Accepted before the stop, handed over after it: the socket is closed.
        var pair: [Int32] = [0, 0]
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair)
        defer { close(pair[1]) }
        #expect(!prepared.adopt(socket: pair[0]))
        // Closed: its peer reads the end of the stream. (Not fcntl on the
        // number: another test's socket may have it again already.)
        var byte: UInt8 = 0
        #expect(recv(pair[1], &byte, 1, Int32(MSG_DONTWAIT)) == 0)
    }

    /// A host's refusals count in `switchboard_upgrades_refused_total` as
    /// those of upgrades that arrive on the server's own port do; an
    /// accepted one does not. 451 and 418: statuses no other test uses
    /// (the backend is the whole process's).
    @Test func refusalsDecidedForAHostAreCounted() async throws {
        let metrics = TestMetricsBackend.shared
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2, metricsInterval: .milliseconds(20)))
        server.webSocket("/ws", handler: EchoHandler(recorder: Recorder())) { request in
            if request.queryValue("user") == "banned" { throw HTTPError(.init(code: 451)) }
            return "fine"
        }
        server.webSocket("/teapot", handler: EchoHandler(recorder: Recorder())) { _ in throw HTTPError(.init(code: 418)) }
        try server.startWithoutListening()
        defer { try? server.stop() }
        func request(_ path: String) -> HTTPRequest {
            ForeignHost.parse(TestWebSocket.upgradeRequest(path: path).replacingOccurrences(of: "\r\n\r\n", with: ""))
        }
        func refused(_ status: String) -> Int64 {
            metrics.counterTotal(label: "switchboard_upgrades_refused_total", dimensions: [("status", status)])
        }
        let before = (refused("451"), refused("418"))
        for path in ["/ws?user=banned", "/ws?user=banned", "/teapot", "/ws?user=ok"] {
            _ = await server.prepareUpgrade(request: request(path))
        }
        #expect(await eventually(seconds: 30) { refused("451") - before.0 == 2 && refused("418") - before.1 == 1 },
                "451: \(refused("451") - before.0), 418: \(refused("418") - before.1)")
    }
}
