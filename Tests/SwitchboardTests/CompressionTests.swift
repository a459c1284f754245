import Foundation
import Glibc
import SwitchboardDeflate
import SwitchboardWire
import Testing
import TestSupport
@testable import Switchboard

private let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"

/// JSON-like text that compresses well.
private func sampleText(_ count: Int) -> String {
    var text = ""
    var index = 0
    while text.utf8.count < count {
        text += "{\"seq\":\(index),\"symbol\":\"ACME\",\"price\":\(100 + index % 17).25},"
        index += 1
    }
    return String(text.prefix(count))
}

private func deflated(_ bytes: [UInt8], with compressor: DeflateCompressor? = nil) throws -> [UInt8] {
    let compressor = try compressor ?? DeflateCompressor(contextTakeover: false)
    var output: [UInt8] = []
    bytes.withUnsafeBytes { compressor.compress($0, appendingTo: &output) }
    return output
}

private func inflated(_ bytes: [UInt8], with decompressor: DeflateDecompressor? = nil) throws -> [UInt8] {
    let decompressor = try decompressor ?? DeflateDecompressor(contextTakeover: false)
    let result = bytes.withUnsafeBytes { input in
        Result { () throws(DeflateError) in try decompressor.decompress(input, limit: 1 << 26) }
    }
    return try result.get()
}

/// The payload of a received data frame, inflated when RSV1 says so.
private func content(_ frame: TestWebSocket.Frame, _ decompressor: DeflateDecompressor? = nil) throws -> [UInt8] {
    frame.rsv1 ? try inflated(frame.payload, with: decompressor) : frame.payload
}

/// A server with echo routes with compression (with and without context
/// takeover), one without, and a compressing topic route.
private func withCompressionServer(loops: Int = 2, _ body: (Server, Int, Recorder) throws -> Void) throws {
    let recorder = Recorder()
    try withServer(loops: loops, routes: { router in
        let handler = EchoHandler(recorder: recorder)
        router.webSocket("/z", configuration: WebSocketConfiguration(compression: .perMessageDeflate), handler: handler)
        router.webSocket(
            "/small", configuration: WebSocketConfiguration(maxMessageSize: 1 << 20, compression: .perMessageDeflate), handler: handler)
        router.webSocket(
            "/takeover",
            configuration: WebSocketConfiguration(compression: WebSocketCompression(contextTakeover: true)),
            handler: handler)
        router.webSocket("/plain", handler: handler)
    }) { server, port in
        // The handler keeps its sockets; let go before the leak check.
        defer { recorder.releaseSockets() }
        try body(server, port, recorder)
    }
}

@Suite("permessage-deflate over real sockets")
struct CompressionTests {
    @Test("off unless the route turns it on: no extension in the 101, RSV1 is a protocol error")
    func offByDefault() throws {
        try withCompressionServer { _, port, _ in
            let client = try TestWebSocket(port: port, path: "/plain", headers: [offer])
            #expect(client.response.header("sec-websocket-extensions") == nil)
            try client.send(opcode: .text, try deflated(Array("Hello".utf8)), rsv1: true)
            let close = try client.receiveNonPing()
            #expect(close.opcode == 0x8 && close.closeCode == 1002)
        }
    }

    @Test("negotiated on offer; big messages come back compressed, small ones plain, both intact")
    func echoCompressed() throws {
        try withCompressionServer { _, port, _ in
            let client = try TestWebSocket(port: port, path: "/z", headers: [offer])
            #expect(client.response.header("sec-websocket-extensions")
                == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
            let big = Array(sampleText(20_000).utf8)
            try client.send(opcode: .text, try deflated(big), rsv1: true)
            let reply = try client.receiveNonPing()
            #expect(reply.opcode == 0x1 && reply.rsv1)
            #expect(reply.payload.count < big.count / 3, "20 kB of JSON-like text should shrink well")
            #expect(try content(reply) == big)
            // Under `minimumSize` (128 bytes) messages go plain, whichever way they came.
            try client.send(opcode: .text, try deflated(Array("hi".utf8)), rsv1: true)
            let small = try client.receiveNonPing()
            #expect(!small.rsv1 && small.text == "hi")
            // An uncompressed message on a compressing connection is fine too.
            try client.send(opcode: .binary, Array(repeating: 9, count: 1_000))
            let binary = try client.receiveNonPing()
            #expect(binary.opcode == 0x2 && binary.rsv1)
            #expect(try content(binary) == Array(repeating: 9, count: 1_000))
        }
    }

    @Test("a compressed message in fragments is inflated once whole")
    func fragmented() throws {
        try withCompressionServer { _, port, _ in
            let client = try TestWebSocket(port: port, path: "/z", headers: [offer])
            let message = Array(sampleText(5_000).utf8)
            let compressed = try deflated(message)
            let third = compressed.count / 3
            try client.send(opcode: .text, Array(compressed[..<third]), fin: false, rsv1: true)
            try client.send(opcode: .continuation, Array(compressed[third..<(2 * third)]), fin: false)
            try client.send(opcode: .continuation, Array(compressed[(2 * third)...]))
            #expect(try content(client.receiveNonPing()) == message)
            // RSV1 belongs on the first frame only (RFC 7692 §6.1).
            try client.send(opcode: .text, Array(compressed[..<third]), fin: false, rsv1: true)
            try client.send(opcode: .continuation, Array(compressed[third...]), rsv1: true)
            #expect(try client.receiveNonPing().closeCode == 1002)
        }
    }

    @Test("a decompression bomb closes with 1009 and the server keeps serving others")
    func decompressionBomb() throws {
        try withCompressionServer { _, port, recorder in
            let bystander = try TestWebSocket(port: port, path: "/small?user=bystander", headers: [offer])
            let attacker = try TestWebSocket(port: port, path: "/small?user=attacker", headers: [offer])
            // 16 MiB of zeros deflate to about 16 KiB: well under the 1 MiB limit on the wire.
            let bomb = try deflated([UInt8](repeating: 0, count: 16 << 20))
            #expect(bomb.count < 1 << 20)
            try attacker.send(opcode: .binary, bomb, rsv1: true)
            let close = try attacker.receiveNonPing()
            #expect(close.opcode == 0x8 && close.closeCode == 1009)
            #expect(recorder.waitFor("close attacker 1009") != nil)
            try bystander.send(opcode: .text, try deflated(Array(sampleText(400).utf8)), rsv1: true)
            #expect(try content(bystander.receiveNonPing()) == Array(sampleText(400).utf8))
        }
    }

    @Test("bytes that are not deflate data close with 1002; compressed text that is not UTF-8 with 1007")
    func badCompressedData() throws {
        try withCompressionServer { _, port, _ in
            let corrupt = try TestWebSocket(port: port, path: "/z", headers: [offer])
            try corrupt.send(opcode: .binary, [0xFF, 0xFF, 0xFF, 0xFF], rsv1: true)
            #expect(try corrupt.receiveNonPing().closeCode == 1002)
            let badText = try TestWebSocket(port: port, path: "/z", headers: [offer])
            try badText.send(opcode: .text, try deflated([0x68, 0x69, 0xC3, 0x28]), rsv1: true)
            #expect(try badText.receiveNonPing().closeCode == 1007)
        }
    }

    @Test("with context takeover each side keeps its window: repeats shrink and still inflate")
    func contextTakeover() throws {
        try withCompressionServer { _, port, _ in
            let client = try TestWebSocket(port: port, path: "/takeover", headers: [offer])
            #expect(client.response.header("sec-websocket-extensions") == "permessage-deflate")
            let compressor = try DeflateCompressor(contextTakeover: true)
            let decompressor = try DeflateDecompressor(contextTakeover: true)
            let message = Array(sampleText(3_000).utf8)
            var sizes: [Int] = []
            for _ in 0..<5 {
                try client.send(opcode: .text, try deflated(message, with: compressor), rsv1: true)
                let reply = try client.receiveNonPing()
                #expect(reply.rsv1)
                #expect(try content(reply, decompressor) == message)
                sizes.append(reply.payload.count)
            }
            #expect(sizes[1] < sizes[0] / 4, "a repeat refers back to the previous message: \(sizes)")
        }
    }

    @Test("a publish is compressed once for its subscribers without context; plain and takeover ones get theirs")
    func fanOut() throws {
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1))
        let deflate = WebSocketConfiguration(origins: .any, compression: .perMessageDeflate)
        let takeover = WebSocketConfiguration(origins: .any, compression: WebSocketCompression(contextTakeover: true))
        server.webSocket("/topic", configuration: deflate, handler: TopicHandler(pubsub: server.pubsub))
        server.webSocket("/topic-takeover", configuration: takeover, handler: TopicHandler(pubsub: server.pubsub))
        let port = try server.start().port
        defer { #expect(throws: Never.self) { try server.stop() } }
        let compressed = try (0..<4).map { _ in try TestWebSocket(port: port, path: "/topic?topic=t", headers: [offer]) }
        let plain = try (0..<2).map { _ in try TestWebSocket(port: port, path: "/topic?topic=t") }
        let keeper = try TestWebSocket(port: port, path: "/topic-takeover?topic=t", headers: [offer])
        #expect(eventually { server.pubsub.subscriberCount(of: "t") == 7 })
        let loopDeflate = server.loopContexts![0].deflate
        let before = loopDeflate.compressions.load(ordering: .relaxed)
        let messages = (0..<20).map { sampleText(500 + $0 * 10) }
        for message in messages { server.pubsub.publish("t", text: message) }
        let keeperInflater = try DeflateDecompressor(contextTakeover: true)
        for message in messages {
            for client in compressed {
                let frame = try client.receiveNonPing()
                let bytes = try content(frame)
                #expect(frame.rsv1 && bytes == Array(message.utf8))
            }
            for client in plain {
                let frame = try client.receiveNonPing()
                #expect(!frame.rsv1 && frame.text == message)
            }
            let frame = try keeper.receiveNonPing()
            let bytes = try content(frame, keeperInflater)
            #expect(frame.rsv1 && bytes == Array(message.utf8))
        }
        // One compression per publish shared by the four, plus one each for the takeover subscriber.
        #expect(loopDeflate.compressions.load(ordering: .relaxed) - before == 2 * messages.count)
    }

    @Test("Python websockets (compression=\"deflate\") round-trips through both kinds of route")
    func pythonClient() throws {
        try withCompressionServer { _, port, _ in
            for path in ["/z", "/takeover"] {
                let result = try runClient(["python3", clientsFolder + "/deflate_client.py", "\(port)", path])
                #expect(result.status == 0, "\(path): \(result.output)")
            }
        }
    }

    @Test("Node's WebSocket negotiates compression and receives compressed messages")
    func nodeClient() throws {
        try withCompressionServer { _, port, _ in
            let result = try runClient(["node", "--experimental-websocket", "--no-warnings", clientsFolder + "/deflate_client.mjs", "\(port)"])
            #expect(result.status == 0, "\(result.output)")
        }
    }
}
