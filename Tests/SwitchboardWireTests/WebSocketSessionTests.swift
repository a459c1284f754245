import Testing

@testable import SwitchboardWire

/// Every framing rule, each with the close code it earns, whole and split at every byte.
@Suite("RFC 6455 §5.1–§5.5: framing rules")
struct WebSocketFramingRuleTests {
    static let compressed = WebSocketWireConfiguration(allowsCompressedMessages: true)

    static let violations: [ViolationCase] = [
        ViolationCase("§5.1 unmasked frame", [0x81, 0x02, 0x68, 0x69], 1002, "unmasked client frame"),
        ViolationCase("§5.1 unmasked control frame", [0x89, 0x00], 1002, "unmasked client frame"),
        ViolationCase(
            "§5.2 RSV1 without an extension", clientFrame(firstByte: 0xC1, [0x61]), 1002, "reserved bits set"),
        ViolationCase("§5.2 RSV2", clientFrame(firstByte: 0xA1, [0x61]), 1002, "reserved bits set"),
        ViolationCase("§5.2 RSV3", clientFrame(firstByte: 0x91, [0x61]), 1002, "reserved bits set"),
        ViolationCase("§5.2 RSV2 even with compression", clientFrame(firstByte: 0xA2), 1002, "reserved bits set")
            .with { $0.configuration = compressed },
        ViolationCase(
            "§5.2 RSV1 on a control frame without an extension", clientFrame(firstByte: 0xC9), 1002, "reserved bits set"
        ),
        ViolationCase(
            "RFC 7692 §6.1 RSV1 on a control frame", clientFrame(firstByte: 0xC9), 1002, "compressed control frame"
        )
        .with { $0.configuration = compressed },
        ViolationCase(
            "RFC 7692 §6.1 RSV1 on a continuation",
            clientFrame(.binary, [1], fin: false, rsv1: true) + clientFrame(firstByte: 0xC0, [2]),
            1002, "RSV1 on a continuation frame"
        ).with { $0.configuration = compressed },
        ViolationCase("§5.5 fragmented ping", clientFrame(firstByte: 0x09, [1]), 1002, "fragmented control frame"),
        ViolationCase("§5.5 fragmented close", clientFrame(firstByte: 0x08), 1002, "fragmented control frame"),
        ViolationCase(
            "§5.5 ping of 126 bytes", clientFrame(.ping, .pattern(count: 126)), 1002, "control frame too long"),
        ViolationCase(
            "§5.5 pong of 65536 bytes", Array(clientFrame(.pong, .pattern(count: 65536)).prefix(20)), 1002,
            "control frame too long"),
        ViolationCase(
            "§5.5 close of 126 bytes (124-byte reason)",
            clientFrame(.close, [0x03, 0xE8] + [UInt8](repeating: 0x61, count: 124)),
            1002, "control frame too long"
        ),
        ViolationCase("§5.5.1 close payload of 1 byte", clientFrame(.close, [0x03]), 1002, "close payload of 1 byte"),
        ViolationCase(
            "§5.4 continuation first", clientFrame(.continuation, [1]), 1002, "continuation without a message"),
        ViolationCase(
            "§5.4 continuation after a complete message",
            clientFrame(.text, text: "a") + clientFrame(.continuation, [1]),
            1002, "continuation without a message"
        ).with { $0.before = [textMessage("a")] },
        ViolationCase(
            "§5.4 text while a message is in progress",
            clientFrame(.text, text: "a", fin: false) + clientFrame(.text, text: "b"),
            1002, "new message before the previous one ended"
        ),
        ViolationCase(
            "§5.4 binary while a message is in progress, after a ping",
            clientFrame(.binary, [1], fin: false) + clientFrame(.ping) + clientFrame(.binary, [2]),
            1002, "new message before the previous one ended"
        ).with { $0.before = [.ping([])] },
        ViolationCase(
            "§5.2 64-bit length with the top bit set",
            [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
            1002, "invalid payload length"
        ),
        ViolationCase(
            "§5.2 64-bit length of all ones",
            [0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4],
            1002, "invalid payload length"
        ),
    ]

    @Test("violations fail the connection with their close code", arguments: violations)
    func violation(_ row: ViolationCase) {
        row.check()
    }

    @Test("reserved opcodes fail with 1002", arguments: [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] as [UInt8])
    func reservedOpcode(_ opcode: UInt8) {
        ViolationCase("opcode \(opcode)", clientFrame(firstByte: 0x80 | opcode, [1, 2]), 1002, "unknown opcode").check()
        // Also in the middle of a fragmented message.
        ViolationCase(
            "opcode \(opcode) mid-message",
            clientFrame(.text, text: "a", fin: false) + clientFrame(firstByte: 0x80 | opcode),
            1002, "unknown opcode"
        ).check()
    }

    @Test("rules decided by the first two bytes fail before the rest of the frame arrives")
    func failEarly() {
        let firstTwo: [[UInt8]] = [
            [0x81, 0x7E],  // unmasked, 16-bit length not yet sent
            [0xC1, 0xFF],  // RSV1, 64-bit length not yet sent
            [0x83, 0x85],  // reserved opcode
            [0x09, 0x80],  // fragmented ping
            [0x89, 0xFE],  // ping with a 16-bit length
            [0x88, 0x81],  // close with 1 byte
            [0x80, 0x81],  // continuation without a message
        ]
        for bytes in firstTwo {
            let outcome = runEverySplit(bytes)
            guard case .failed(let code, _) = outcome.events.last else {
                Issue.record("\(bytes): \(outcome)")
                continue
            }
            #expect(code == .protocolError)
            #expect(outcome.events.count == 1)
        }
    }

    @Test("a frame before a violation is still delivered")
    func messageBeforeViolation() {
        ViolationCase("", clientFrame(.text, text: "ok") + [0x81, 0x00], 1002, "unmasked client frame")
            .with { $0.before = [textMessage("ok")] }.check()
    }
}

@Suite("RFC 6455 §5.4: fragmentation")
struct WebSocketFragmentationTests {
    @Test("a fragmented text message with an interleaved ping")
    func interleavedPing() {
        let input =
            clientFrame(.text, text: "Hel", fin: false) + clientFrame(.ping, Array("p".utf8))
            + clientFrame(.continuation, text: "lo")
        let outcome = runEverySplit(input)
        #expect(outcome.events == [.ping(Array("p".utf8)), textMessage("Hello")])
        #expect(outcome.outbound == serverPong(Array("p".utf8)))
        #expect(outcome.state == .open)
        #expect(outcome.bufferedByteCount == 0)
    }

    @Test("a binary message in five fragments with pings and pongs between, some empty")
    func manyFragments() {
        let input =
            clientFrame(.binary, [], fin: false)
            + clientFrame(.continuation, [1, 2, 3], fin: false)
            + clientFrame(.ping, [9])
            + clientFrame(.continuation, [], fin: false)
            + clientFrame(.pong, [8, 8])
            + clientFrame(.continuation, [4], fin: false)
            + clientFrame(.continuation, [5, 6])
        let outcome = runEverySplit(input)
        #expect(outcome.events == [.ping([9]), .pong([8, 8]), binaryMessage([1, 2, 3, 4, 5, 6])])
        #expect(outcome.outbound == serverPong([9]))
    }

    @Test("messages follow each other, fragmented or not, empty or not")
    func sequence() {
        let input =
            clientFrame(.text, text: "") + clientFrame(.binary, [])
            + clientFrame(.text, text: "a", fin: false) + clientFrame(.continuation, text: "b")
            + clientFrame(.binary, [1], fin: false) + clientFrame(.continuation, [])
            + clientFrame(.text, text: "end")
        let outcome = runEverySplit(input)
        #expect(
            outcome.events == [
                textMessage(""), binaryMessage([]), textMessage("ab"), binaryMessage([1]), textMessage("end"),
            ]
        )
        #expect(outcome.outbound.isEmpty)
    }

    @Test("a fragment with a 16-bit length, unmasked across receives")
    func largeFragments() {
        let first = [UInt8].pattern(count: 300)
        let second = [UInt8].pattern(count: 131).reversed() as [UInt8]
        let input = clientFrame(.binary, first, fin: false) + clientFrame(.continuation, second)
        #expect(runEverySplit(input).events == [binaryMessage(first + second)])
    }

    @Test("a session copied in the middle of a message is a value: each copy completes its own")
    func copiedMidMessage() {
        var original = WebSocketSession()
        original.receive(clientFrame(.binary, [1, 2, 3], fin: false) + Array(clientFrame(.continuation, [4, 5, 6], fin: false).prefix(5)))
        #expect(original.nextEvent() == nil)
        var copy = original
        // The rest of the second fragment, then different endings.
        let rest = Array(clientFrame(.continuation, [4, 5, 6], fin: false).dropFirst(5))
        original.receive(rest + clientFrame(.continuation, [7]))
        copy.receive(rest + clientFrame(.continuation, [8, 9]))
        #expect(original.nextEvent() == binaryMessage([1, 2, 3, 4, 5, 6, 7]))
        #expect(copy.nextEvent() == binaryMessage([1, 2, 3, 4, 5, 6, 8, 9]))
        #expect(original.storageCapacity == 0 && copy.storageCapacity == 0)
    }

    @Test("whole frames with a 16-bit length in one receive, text and binary, at every split")
    func mediumFrames() {
        let text = String(repeating: "é", count: 200)
        let binary = [UInt8].pattern(count: 1_000)
        let input = clientFrame(.text, text: text) + clientFrame(.binary, binary)
        #expect(runEverySplit(input).events == [textMessage(text), binaryMessage(binary)])
    }

    @Test("many small frames in one receive are as many events")
    func manySmallFrames() {
        var input: [UInt8] = []
        for index in 0..<200 { input += clientFrame(.text, text: "m\(index)") }
        var session = WebSocketSession()
        session.receive(input)
        var events: [WebSocketEvent] = []
        while let event = session.nextEvent() { events.append(event) }
        #expect(events == (0..<200).map { textMessage("m\($0)") })
        #expect(session.bufferedByteCount == 0)
        #expect(session.storageCapacity == 0)
    }
}

@Suite("RFC 6455 §5.5.2–§5.5.3: ping and pong")
struct WebSocketPingPongTests {
    @Test("a ping is answered with a pong carrying the same data", arguments: [0, 1, 4, 125])
    func pingPong(_ length: Int) {
        let payload = [UInt8].pattern(count: length)
        let outcome = runEverySplit(clientFrame(.ping, payload))
        #expect(outcome.events == [.ping(payload)])
        #expect(outcome.outbound == serverPong(payload))
        #expect(outcome.state == .open)
    }

    @Test("pongs are queued in order, after nothing else")
    func twoPings() {
        let outcome = runEverySplit(clientFrame(.ping, [1]) + clientFrame(.text, text: "x") + clientFrame(.ping, [2]))
        #expect(outcome.events == [.ping([1]), textMessage("x"), .ping([2])])
        #expect(outcome.outbound == serverPong([1]) + serverPong([2]))
    }

    @Test("an unsolicited pong is reported and not answered")
    func unsolicitedPong() {
        let outcome = runEverySplit(clientFrame(.pong, [7, 7]))
        #expect(outcome.events == [.pong([7, 7])])
        #expect(outcome.outbound.isEmpty)
    }
}

@Suite("RFC 6455 §10.4: message size limit")
struct WebSocketMessageSizeTests {
    static let small = WebSocketWireConfiguration(maxMessageSize: 16)

    @Test("a message of exactly the limit is accepted, single or fragmented")
    func atLimit() {
        let payload = [UInt8].pattern(count: 16)
        #expect(
            runEverySplit(clientFrame(.binary, payload), configuration: Self.small).events == [binaryMessage(payload)])
        let fragmented =
            clientFrame(.binary, Array(payload[..<8]), fin: false) + clientFrame(.ping)
            + clientFrame(.continuation, Array(payload[8...]))
        #expect(runEverySplit(fragmented, configuration: Self.small).events == [.ping([]), binaryMessage(payload)])
    }

    @Test("one byte over the limit in a single frame is 1009")
    func singleFrameOver() {
        ViolationCase("", clientFrame(.text, .pattern(count: 17)), 1009, "message too big")
            .with { $0.configuration = Self.small }.check()
    }

    @Test("one byte over the limit across fragments is 1009, control frames not counted")
    func fragmentsOver() {
        let input =
            clientFrame(.binary, .pattern(count: 8), fin: false) + clientFrame(.ping, .pattern(count: 100))
            + clientFrame(.continuation, .pattern(count: 8), fin: false) + clientFrame(.continuation, [1])
        ViolationCase("", input, 1009, "message too big")
            .with {
                $0.configuration = Self.small
                $0.before = [.ping(.pattern(count: 100))]
            }.check()
    }

    @Test("the limit is checked from the header, before any payload arrives")
    func checkedFromHeader() {
        // Only the 14-byte header of a frame one byte over the default 16 MiB.
        var header: [UInt8] = []
        WebSocketFrame.appendHeader(
            opcode: .binary, payloadLength: (16 << 20) + 1, maskingKey: testMaskingKey, to: &header)
        ViolationCase("", header, 1009, "message too big").check()
        // And across fragments: 16 MiB - 1 announced, then a 2-byte continuation header.
        var session = WebSocketSession()
        var first: [UInt8] = []
        WebSocketFrame.appendHeader(
            opcode: .binary, fin: false, payloadLength: (16 << 20) - 1, maskingKey: testMaskingKey, to: &first)
        session.receive(first)
        #expect(session.nextEvent() == nil)
        session.receive([UInt8](repeating: 0, count: (16 << 20) - 1))
        #expect(session.nextEvent() == nil)
        #expect(session.bufferedByteCount == (16 << 20) - 1)
        session.receive(Array(clientFrame(.continuation, [1, 2]).prefix(6)))  // the header only
        #expect(session.nextEvent() == .failed(.messageTooBig, reason: "message too big"))
        #expect(session.bufferedByteCount == 0)
        #expect(session.takeOutboundBytes() == serverClose(1009, "message too big"))
        #expect(session.storageCapacity == 0)
    }

    @Test("the default accepts a 16 MiB message")
    func defaultSixteenMiB() throws {
        let payload = [UInt8](repeating: 0x5A, count: 16 << 20)
        let frame = clientFrame(.binary, payload)
        var session = WebSocketSession()
        // In reads of 64 KiB, as a socket would deliver it.
        var events: [WebSocketEvent] = []
        var offset = 0
        while offset < frame.count {
            let end = min(offset + 65536, frame.count)
            frame[offset..<end].withUnsafeBytes { session.receive($0) }
            while let event = session.nextEvent() { events.append(event) }
            offset = end
        }
        #expect(events.count == 1)
        let event = try #require(events.first)
        guard case .message(let opcode, let bytes, let compressed) = event else {
            Issue.record("\(event)")
            return
        }
        #expect(opcode == .binary && !compressed)
        #expect(bytes == payload)
        #expect(session.storageCapacity == 0)
    }
}

@Suite("RFC 7692 §6: compressed messages (RSV1)")
struct WebSocketCompressedMessageTests {
    static let compressed = WebSocketWireConfiguration(allowsCompressedMessages: true)

    @Test("RSV1 on the first frame marks the message compressed; its text is not validated")
    func compressedText() {
        let deflated: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]  // not UTF-8
        let input =
            clientFrame(.text, Array(deflated[..<3]), fin: false, rsv1: true)
            + clientFrame(.continuation, Array(deflated[3...]))
        let outcome = runEverySplit(input, configuration: Self.compressed)
        #expect(outcome.events == [.message(.text, deflated, compressed: true)])
        #expect(outcome.outbound.isEmpty)
    }

    @Test("compressed and uncompressed messages mix")
    func mixed() {
        let input =
            clientFrame(.binary, [1, 2], rsv1: true) + clientFrame(.text, text: "plain")
            + clientFrame(.text, [0xFF], rsv1: true)
        let outcome = runEverySplit(input, configuration: Self.compressed)
        #expect(
            outcome.events == [
                .message(.binary, [1, 2], compressed: true), textMessage("plain"),
                .message(.text, [0xFF], compressed: true),
            ]
        )
    }

    @Test("uncompressed text is still validated when compression is allowed")
    func uncompressedValidated() {
        ViolationCase("", clientFrame(.text, [0xFF]), 1007, "invalid UTF-8 in text message")
            .with { $0.configuration = Self.compressed }.check()
    }
}

@Suite("Session memory: buffers released when idle")
struct WebSocketSessionMemoryTests {
    @Test("an idle session holds no storage")
    func idle() {
        var session = WebSocketSession()
        #expect(session.storageCapacity == 0)
        session.receive(clientFrame(.text, text: "hello") + clientFrame(.ping, [1]))
        #expect(session.bufferedByteCount == 11 + 7)
        #expect(session.nextEvent() == textMessage("hello"))
        #expect(session.nextEvent() == .ping([1]))
        #expect(session.nextEvent() == nil)
        #expect(session.bufferedByteCount == 0)
        #expect(session.takeOutboundBytes() == serverPong([1]))
        #expect(session.storageCapacity == 0)
    }

    @Test("partial frames and messages are counted")
    func partial() {
        var session = WebSocketSession()
        let frame = clientFrame(.binary, .pattern(count: 40), fin: false)
        session.receive(Array(frame[..<4]))  // part of the header
        #expect(session.nextEvent() == nil)
        #expect(session.bufferedByteCount == 4)
        session.receive(Array(frame[4..<20]))  // header and 14 payload bytes
        #expect(session.nextEvent() == nil)
        #expect(session.bufferedByteCount == 14)
        session.receive(Array(frame[20...]) + clientFrame(.ping, [1, 2]).prefix(3))
        #expect(session.nextEvent() == nil)
        #expect(session.bufferedByteCount == 40 + 3)
        session.receive(Array(clientFrame(.ping, [1, 2]).dropFirst(3)))
        #expect(session.nextEvent() == .ping([1, 2]))
        #expect(session.bufferedByteCount == 40)
        session.receive(clientFrame(.continuation, [1]))
        #expect(session.nextEvent() == binaryMessage(.pattern(count: 40) + [1]))
        #expect(session.bufferedByteCount == 0)
        _ = session.takeOutboundBytes()
        #expect(session.storageCapacity == 0)
    }

    @Test("a consumed prefix is compacted before more bytes are appended")
    func compaction() {
        var session = WebSocketSession()
        let ping = clientFrame(.ping, .pattern(count: 100))
        // Each receive completes one ping and starts the next, so the buffer never drains.
        session.receive(Array(ping[..<50]))
        for _ in 0..<100 {
            session.receive(Array(ping[50...]) + Array(ping[..<50]))
            #expect(session.nextEvent() == .ping(.pattern(count: 100)))
            #expect(session.nextEvent() == nil)
            #expect(session.bufferedByteCount == 50)
        }
        #expect(session.takeOutboundBytes() == Array((0..<100).map { _ in serverPong(.pattern(count: 100)) }.joined()))
        #expect(session.storageCapacity <= 4 * ping.count)
    }
}
