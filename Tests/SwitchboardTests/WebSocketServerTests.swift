import Foundation
import Glibc
import Testing
import TestSupport
@testable import Switchboard
import SwitchboardWire

/// Runs a server with an `EchoHandler` at /ws configured by `configuration`.
func withWebSocketServer(
    _ configuration: WebSocketConfiguration = WebSocketConfiguration(),
    _ body: (Server, Int, Recorder) throws -> Void
) throws {
    let recorder = Recorder()
    try withServer(routes: { $0.webSocket("/ws", configuration: configuration, handler: EchoHandler(recorder: recorder)) }) { server, port in
        defer { recorder.releaseSockets() }
        try body(server, port, recorder)
    }
}

@Suite("WebSocket server over real sockets")
struct WebSocketServerTests {
    @Test func echoesTextBinaryAndFragmentsWithAnInterleavedPing() throws {
        try withWebSocketServer { _, port, recorder in
            let client = try TestWebSocket(port: port, path: "/ws?user=alice")
            #expect(client.response.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            try client.send(text: "hello")
            #expect(try client.receiveFrame() == .init(opcode: 1, fin: true, payload: Array("hello".utf8)))
            try client.send(opcode: .binary, [0, 1, 2])
            #expect(try client.receiveFrame() == .init(opcode: 2, fin: true, payload: [0, 1, 2]))
            // RFC 6455 §5.4: a control frame may sit between fragments; its
            // pong must leave before the echo of the message it interrupted.
            try client.send(opcode: .text, Array("frag".utf8), fin: false)
            try client.send(opcode: .ping, Array("p".utf8))
            try client.send(opcode: .continuation, Array("ment".utf8))
            #expect(try client.receiveFrame() == .init(opcode: 0xA, fin: true, payload: Array("p".utf8)))
            #expect(try client.receiveFrame().text == "fragment")
            #expect(recorder.waitFor("open alice - true") != nil, "\(recorder.all)")
        }
    }

    @Test func negotiatesTheServersPreferredSubprotocol() throws {
        try withWebSocketServer(WebSocketConfiguration(subprotocols: ["v2.chat", "v1.chat"])) { _, port, recorder in
            let client = try TestWebSocket(port: port, headers: ["Sec-WebSocket-Protocol: v1.chat, v2.chat"])
            #expect(client.response.header("sec-websocket-protocol") == "v2.chat")
            #expect(recorder.waitFor("open anon v2.chat") != nil)
            let plain = try TestWebSocket(port: port, headers: ["Sec-WebSocket-Protocol: other"])
            #expect(plain.response.header("sec-websocket-protocol") == nil)
        }
    }

    @Test(arguments: [
        (["Origin: https://evil.example"], "/ws", 403, nil as String?),
        (["Origin: http://127.0.0.1:1"], "/ws", 403, nil),
        ([], "/ws?token=wrong", 401, nil),
        (["Sec-WebSocket-Version: 8"], "/ws", 426, "13"),
    ])
    func refusesBeforeTheUpgrade(headers: [String], path: String, status: Int, version: String?) throws {
        try withWebSocketServer { _, port, recorder in
            let socket = try TestSocket(port: port)
            var lines = ["GET \(path) HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
            if !headers.contains(where: { $0.hasPrefix("Sec-WebSocket-Version") }) { lines.append("Sec-WebSocket-Version: 13") }
            try socket.send((lines + headers).joined(separator: "\r\n") + "\r\n\r\n")
            let response = try socket.receiveResponse()
            #expect(response.status == status)
            #expect(response.header("sec-websocket-version") == version)
            #expect(socket.isClosedByPeer())
            #expect(recorder.all.isEmpty, "no handler ran: \(recorder.all)")
        }
    }

    @Test func badKeyIs400AndPlainGetIsRefused() throws {
        try withWebSocketServer { _, port, _ in
            let bad = try TestSocket(port: port)
            #expect(try TestWebSocket.handshake(bad, path: "/ws", key: "short").status == 400)
            let plain = try TestSocket(port: port)
            let response = try plain.exchange("GET /ws HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(response.status == 400 || response.status == 426)
        }
    }

    @Test func originPoliciesAdmitWhatTheyShould() throws {
        try withWebSocketServer(WebSocketConfiguration(origins: .allowList(["https://app.example"]))) { _, port, _ in
            _ = try TestWebSocket(port: port, headers: ["Origin: https://app.example"])
            _ = try TestWebSocket(port: port, headers: ["Origin: http://127.0.0.1"])  // same origin as Host
            let socket = try TestSocket(port: port)
            #expect(try TestWebSocket.handshake(socket, path: "/ws", headers: ["Origin: https://other.example"]).status == 403)
        }
    }

    @Test func anEmptyCloseGetsAnEmptyCloseBack() throws {
        // RFC 6455 §5.5.1: the reply echoes the code, and a close without
        // one gets a close without one (written straight to the socket).
        try withWebSocketServer { _, port, _ in
            let client = try TestWebSocket(port: port, path: "/ws?user=a")
            try client.send(opcode: .close, [])
            let reply = try client.receiveNonPing()
            #expect(reply.opcode == 0x8 && reply.fin && reply.payload.isEmpty)
            #expect(client.socket.isClosedByPeer())
        }
    }

    @Test func closeHandshakeFromEitherSide() throws {
        try withWebSocketServer { _, port, recorder in
            let client = try TestWebSocket(port: port, path: "/ws?user=a")
            try client.send(opcode: .close, [0x03, 0xE8] + Array("bye".utf8))
            let reply = try client.receiveNonPing()
            #expect(reply.opcode == 0x8)
            #expect(reply.closeCode == 1000)
            #expect(client.socket.isClosedByPeer())
            #expect(recorder.waitFor("close a 1000 bye") != nil, "\(recorder.all)")

            let other = try TestWebSocket(port: port, path: "/ws?user=b")
            try other.send(text: "close-me")
            let close = try other.receiveNonPing()
            #expect(close.closeCode == 4000)
            #expect(close.payload.dropFirst(2).elementsEqual("asked".utf8))
            try other.send(opcode: .close, [0x0F, 0xA0])
            #expect(other.socket.isClosedByPeer())
            #expect(recorder.waitFor("close b 4000 asked") != nil, "\(recorder.all)")
        }
    }

    @Test func protocolErrorClosesWith1002AndOthersCarryOn() throws {
        try withWebSocketServer { _, port, recorder in
            let bystander = try TestWebSocket(port: port, path: "/ws?user=calm")
            let broken = try TestWebSocket(port: port, path: "/ws?user=broken")
            try broken.send(opcode: .text, Array("unmasked".utf8), masked: false)
            #expect(try broken.receiveNonPing().closeCode == 1002)
            #expect(broken.socket.isClosedByPeer())
            #expect(recorder.waitFor("close broken 1002") != nil)
            try bystander.send(text: "still here")
            #expect(try bystander.receiveNonPing().text == "still here")
        }
    }

    @Test func messageOverTheLimitCloses1009() throws {
        try withWebSocketServer(WebSocketConfiguration(maxMessageSize: 1000)) { _, port, recorder in
            let client = try TestWebSocket(port: port, path: "/ws?user=big")
            try client.send(opcode: .binary, [UInt8](repeating: 1, count: 1001))
            #expect(try client.receiveNonPing().closeCode == 1009)
            #expect(recorder.waitFor("close big 1009") != nil)
        }
    }

    @Test func silentPeerIsClosedAfterThePongTimeoutAndALiveOneIsNot() throws {
        let fast = WebSocketConfiguration(pingInterval: .milliseconds(100), pongTimeout: .milliseconds(300))
        try withWebSocketServer(fast) { _, port, recorder in
            let silent = try TestWebSocket(port: port, path: "/ws?user=silent")
            let alive = try TestWebSocket(port: port, path: "/ws?user=alive")
            // The live client answers three pings; the silent one reads them but never answers.
            for _ in 0..<3 {
                let ping = try alive.receiveFrame()
                #expect(ping.opcode == 0x9)
                try alive.send(opcode: .pong, ping.payload)
            }
            #expect(try silent.receiveFrame().opcode == 0x9)
            #expect(silent.socket.isClosedByPeer())
            #expect(recorder.waitFor("close silent 1006") != nil, "\(recorder.all)")
            #expect(!recorder.all.contains { $0.hasPrefix("close alive") })
            try alive.send(text: "ok?")
            #expect(try alive.receiveNonPing().text == "ok?")
        }
    }

    @Test func slowReaderIsClosedWith1008WhileAFastOneGetsEverything() throws {
        let bounded = WebSocketConfiguration(pingInterval: nil, maxQueuedBytes: 512 * 1024, writeTimeout: .seconds(1), closeTimeout: .seconds(1))
        try withWebSocketServer(bounded) { _, port, recorder in
            let slow = try TestWebSocket(port: port, path: "/ws?user=slow", receiveBufferSize: 4096)
            let fast = try TestWebSocket(port: port, path: "/ws?user=fast")
            // Bursts of 256 KiB, 16 MiB in all to each. The fast client reads
            // each burst before asking for the next; the slow one never reads.
            // Once the server has given up on the slow one (1008, then the
            // close timeout) its socket may be reset: sending to it then
            // fails, and is not the test's concern.
            var slowIsOpen = true
            for _ in 0..<64 {
                if slowIsOpen {
                    do { try slow.send(text: "flood 16 16384") } catch { slowIsOpen = false }
                }
                try fast.send(text: "flood 16 16384")
                for _ in 0..<16 {
                    #expect(try fast.receiveNonPing().payload.count == 16384)
                }
            }
            #expect(recorder.waitFor("close slow 1008 slow consumer") != nil, "\(recorder.all)")
            #expect(!recorder.all.contains { $0.hasPrefix("flooded fast dropped=") && $0 != "flooded fast dropped=0" })
            #expect(!recorder.all.contains { $0.hasPrefix("close fast") })
        }
    }

    /// Under the queue limit, so only the write-stall clock can end it:
    /// the peer reads nothing, the kernel's buffers fill, the rest waits,
    /// and `writeTimeout` later the connection is dropped (1006) while a
    /// reading client on the same server is served.
    @Test func aPeerThatReadsNothingIsDroppedAfterTheWriteTimeout() throws {
        let stalling = WebSocketConfiguration(pingInterval: nil, maxQueuedBytes: 64 << 20, writeTimeout: .seconds(1))
        try withWebSocketServer(stalling) { _, port, recorder in
            let stalled = try TestWebSocket(port: port, path: "/ws?user=stalled", receiveBufferSize: 4096)
            let reader = try TestWebSocket(port: port, path: "/ws?user=reader")
            try stalled.send(text: "flood 256 16384")  // 4 MiB: more than loopback buffers hold
            #expect(recorder.waitFor("flooded stalled dropped=0") != nil, "\(recorder.all)")
            #expect(recorder.waitFor("close stalled 1006", seconds: 10) != nil, "\(recorder.all)")
            try reader.send(text: "still served")
            #expect(try reader.receiveNonPing().text == "still served")
        }
    }

    /// The same for a subscriber fed only by publishes (nothing it sends
    /// makes the server look at its timers): the flush that leaves bytes
    /// behind starts the write-stall clock.
    @Test func aSubscriberThatReadsNothingIsDroppedAfterTheWriteTimeout() throws {
        let stalling = WebSocketConfiguration(pingInterval: nil, maxQueuedBytes: 64 << 20, writeTimeout: .milliseconds(500))
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1))
        let closes = Recorder()
        server.webSocket("/topic", configuration: stalling, handler: ClosingSubscriber(closes: closes))
        let port = try server.start().port
        defer { try? server.stop() }
        let stalled = try TestWebSocket(port: port, path: "/topic?topic=t", receiveBufferSize: 4096)
        #expect(eventually { server.pubsub.subscriberCount(of: "t") == 1 })
        // The 101 was still queued when the WebSocket started, so a stall
        // deadline was armed then; let it pass (it finds nothing queued)
        // before the publishes, which alone must arm the next one. Waiting
        // too little could only make this test pass wrongly, never fail.
        usleep(1_000_000)
        let payload = [UInt8](repeating: 1, count: 16384)
        for _ in 0..<256 { server.pubsub.publish("t", binary: payload) }  // 4 MiB
        #expect(eventually(seconds: 10) { server.pubsub.subscriberCount(of: "t") == 0 }, "still subscribed")
        // The hub lets go of it as the WebSocket ends; `onClose` follows.
        #expect(eventually { closes.all == ["close 1006"] }, "\(closes.all)")
        _ = stalled
    }

    @Test func dropPolicyKeepsTheConnectionAndCountsDrops() throws {
        let dropping = WebSocketConfiguration(pingInterval: nil, maxQueuedBytes: 64 * 1024, slowConsumerPolicy: .drop)
        try withWebSocketServer(dropping) { _, port, recorder in
            let client = try TestWebSocket(port: port, path: "/ws?user=lossy")
            try client.send(text: "flood 256 16384")
            let line = try #require(recorder.waitFor("flooded lossy"))
            let dropped = Int(line.split(separator: "=").last!)!
            #expect(dropped > 0)
            #expect(recorder.kept.first?.droppedMessageCount == dropped)
            for _ in 0..<(256 - dropped) { _ = try client.receiveNonPing() }
            try client.send(text: "still open")
            #expect(try client.receiveNonPing().text == "still open")
        }
    }

    @Test func sendsFromOtherThreadsArriveInOrder() throws {
        let recorder = Recorder()
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2))
        server.webSocket("/ws", handler: EchoHandler(recorder: recorder))
        let port = try server.start().port
        let client = try TestWebSocket(port: port)
        _ = recorder.waitFor("open")
        let socket = try #require(recorder.kept.first)
        // A thread of its own, not a task: with other tests blocking the
        // cooperative pool's threads, a task may not run for a long time.
        let sender = Thread { for index in 0..<2_000 { socket.send(text: "\(index)") } }
        sender.start()
        for index in 0..<2_000 {
            #expect(try client.receiveNonPing().text == "\(index)")
        }
        try server.stop()
        recorder.releaseSockets()
    }

    @Test func serverShutdownSends1001() throws {
        let recorder = Recorder()
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2))
        server.webSocket("/ws", handler: EchoHandler(recorder: recorder))
        let port = try server.start().port
        let clients = try (0..<4).map { _ in try TestWebSocket(port: port) }
        _ = recorder.waitFor("open")
        try server.stop()
        for client in clients {
            #expect(try client.receiveNonPing().closeCode == 1001)
        }
        #expect(recorder.all.filter { $0.hasPrefix("close anon 1001") }.count == 4, "\(recorder.all)")
        recorder.releaseSockets()
    }
}

/// Subscribes to "t" and records how it closed.
private struct ClosingSubscriber: WebSocketHandler {
    let closes: Recorder
    func onOpen(_ socket: WebSocket<Void>) { socket.subscribe("t") }
    func onClose(_ socket: WebSocket<Void>, code: WebSocketCloseCode, reason: String) {
        closes.add("close \(code.rawValue)\(reason.isEmpty ? "" : " " + reason)")
    }
}
