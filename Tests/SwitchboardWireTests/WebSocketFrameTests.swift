import Testing

@testable import SwitchboardWire

/// Header encoding and decoding at the edges of the three length forms.
@Suite("RFC 6455 §5.2: frame header")
struct WebSocketFrameHeaderTests {
    /// A payload length and the length bytes the header must carry for it (after the opcode byte,
    /// without the mask bit).
    struct LengthCase: Sendable, CustomTestStringConvertible {
        let length: Int
        let lengthBytes: [UInt8]
        var testDescription: String { "\(length)" }
    }

    static let lengths: [LengthCase] = [
        LengthCase(length: 0, lengthBytes: [0]),
        LengthCase(length: 1, lengthBytes: [1]),
        LengthCase(length: 125, lengthBytes: [125]),
        LengthCase(length: 126, lengthBytes: [126, 0x00, 126]),
        LengthCase(length: 127, lengthBytes: [126, 0x00, 127]),
        LengthCase(length: 65535, lengthBytes: [126, 0xFF, 0xFF]),
        LengthCase(length: 65536, lengthBytes: [127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]),
        LengthCase(length: 1 << 32 + 5, lengthBytes: [127, 0, 0, 0, 0x01, 0, 0, 0, 0x05]),
        LengthCase(length: Int.max, lengthBytes: [127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
    ]

    @Test("unmasked headers use the minimal length form", arguments: lengths)
    func unmaskedHeader(_ row: LengthCase) throws {
        var header: [UInt8] = []
        WebSocketFrame.appendHeader(opcode: .binary, payloadLength: row.length, to: &header)
        #expect(header == [0x82] + row.lengthBytes)
        #expect(header.count <= WebSocketFrame.maxHeaderSize)
        let decoded = try #require(header.withUnsafeBytes { WebSocketFrameHeader.decode($0) })
        #expect(
            decoded
                == WebSocketFrameHeader(
                    fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: .binary,
                    payloadLength: UInt64(row.length), maskingKey: nil, size: header.count
                )
        )
        for prefix in 0..<header.count {
            #expect(header[..<prefix].withUnsafeBytes { WebSocketFrameHeader.decode($0) } == nil)
        }
    }

    @Test("masked headers append the mask bit and key", arguments: lengths)
    func maskedHeader(_ row: LengthCase) throws {
        var header: [UInt8] = []
        WebSocketFrame.appendHeader(
            opcode: .text, fin: false, rsv1: true, payloadLength: row.length, maskingKey: (1, 2, 3, 4), to: &header
        )
        #expect(header == [0x41, row.lengthBytes[0] | 0x80] + row.lengthBytes.dropFirst() + [1, 2, 3, 4])
        #expect(header.count <= WebSocketFrame.maxHeaderSize)
        let decoded = try #require(header.withUnsafeBytes { WebSocketFrameHeader.decode($0) })
        #expect(!decoded.fin)
        #expect(decoded.rsv1 && !decoded.rsv2 && !decoded.rsv3)
        #expect(decoded.opcode == .text)
        #expect(decoded.payloadLength == UInt64(row.length))
        #expect(decoded.maskingKey == WebSocketMaskingKey((1, 2, 3, 4)))
        #expect(decoded.size == header.count)
        #expect(WebSocketFrameHeader.size(secondByte: header[1]) == header.count)
        for prefix in 0..<header.count {
            #expect(header[..<prefix].withUnsafeBytes { WebSocketFrameHeader.decode($0) } == nil)
        }
    }

    @Test("the largest header is 14 bytes")
    func maxHeaderSize() {
        var header: [UInt8] = []
        WebSocketFrame.appendHeader(opcode: .binary, payloadLength: 1 << 40, maskingKey: (0, 0, 0, 0), to: &header)
        #expect(header.count == 14)
        #expect(WebSocketFrame.maxHeaderSize == 14)
    }

    @Test("encode writes FIN, RSV1, opcode and payload; control opcodes are control")
    func encodeFlags() {
        #expect(WebSocketFrame.encode(opcode: .text, payload: Array("hi".utf8)) == [0x81, 0x02, 0x68, 0x69])
        #expect(WebSocketFrame.encode(opcode: .continuation, payload: [], fin: false) == [0x00, 0x00])
        #expect(WebSocketFrame.encode(opcode: .binary, payload: [7], rsv1: true) == [0xC2, 0x01, 0x07])
        #expect(WebSocketFrame.encode(opcode: .pong, payload: [9]) == [0x8A, 0x01, 0x09])
        #expect([WebSocketOpcode.close, .ping, .pong].allSatisfy { $0.isControl })
        #expect(![WebSocketOpcode.continuation, .text, .binary].contains { $0.isControl })
        #expect(WebSocketOpcode(rawValue: 0x0B)?.isControl == true)
        #expect(WebSocketOpcode(rawValue: 0x0B)?.isDefined == false)
        #expect(WebSocketOpcode(rawValue: 0x10) == nil)
    }

    @Test("RFC 6455 §5.7 examples")
    func rfcExamples() {
        // A single-frame masked text message, "Hello".
        let masked = WebSocketFrame.encode(
            opcode: .text, payload: Array("Hello".utf8), maskingKey: (0x37, 0xFA, 0x21, 0x3D))
        #expect(masked == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        // A fragmented unmasked text message, "Hel" then "lo".
        #expect(
            WebSocketFrame.encode(opcode: .text, payload: Array("Hel".utf8), fin: false) == [
                0x01, 0x03, 0x48, 0x65, 0x6C,
            ])
        #expect(WebSocketFrame.encode(opcode: .continuation, payload: Array("lo".utf8)) == [0x80, 0x02, 0x6C, 0x6F])
        // 256 bytes binary message in a single unmasked frame; 64 KiB likewise.
        #expect(
            WebSocketFrame.encode(opcode: .binary, payload: [UInt8](repeating: 0, count: 256)).prefix(4) == [
                0x82, 0x7E, 0x01, 0x00,
            ])
        #expect(
            WebSocketFrame.encode(opcode: .binary, payload: [UInt8](repeating: 0, count: 65536)).prefix(10)
                == [0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]
        )
    }

    @Test("the session reads the RFC 6455 §5.7 masked example")
    func sessionReadsExample() {
        let outcome = runEverySplit([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        #expect(outcome.events == [.message(.text, Array("Hello".utf8), compressed: false)])
        #expect(outcome.outbound.isEmpty)
        #expect(outcome.state == .open)
        #expect(outcome.bufferedByteCount == 0)
    }

    @Test("the session reads payloads at each length boundary", arguments: [0, 1, 125, 126, 127, 65535, 65536])
    func sessionReadsBoundaryLengths(_ length: Int) {
        let payload = [UInt8].pattern(count: length)
        let input = clientFrame(.binary, payload)
        let expected = [WebSocketEvent.message(.binary, payload, compressed: false)]
        // Splitting a 64 KiB frame at every byte is quadratic: split every byte of the
        // header and a few payload offsets, then byte by byte.
        let splits = Set(Array(0...min(input.count, 16)) + [input.count / 2, input.count - 1, input.count])
        for split in splits.sorted() where split <= input.count {
            let outcome = runSession(chunks: [input[..<split], input[split...]])
            #expect(outcome.events == expected, "split at \(split)")
            #expect(outcome.bufferedByteCount == 0)
        }
        let byteByByte = runSession(chunks: input.indices.map { input[$0...$0] })
        #expect(byteByByte.events == expected)
    }

    @Test("closePayload writes the code in network order and cuts the reason at a character")
    func closePayload() {
        #expect(WebSocketFrame.closePayload(code: .normalClosure, reason: "") == [0x03, 0xE8])
        #expect(WebSocketFrame.closePayload(code: .goingAway, reason: "bye") == [0x03, 0xE9, 0x62, 0x79, 0x65])
        let long = String(repeating: "a", count: 122) + "é"  // 122 + 2 bytes: "é" does not fit
        #expect(
            WebSocketFrame.closePayload(code: .normalClosure, reason: long) == [0x03, 0xE8]
                + [UInt8](repeating: 0x61, count: 122))
        let exact = String(repeating: "b", count: 121) + "é"  // exactly 123 bytes
        #expect(WebSocketFrame.closePayload(code: .normalClosure, reason: exact).count == 125)
        let emoji = String(repeating: "👍🏽", count: 40)  // 8 bytes per character
        let payload = WebSocketFrame.closePayload(code: .normalClosure, reason: emoji)
        #expect(payload.count == 2 + 15 * 8)
        #expect(String(decoding: payload[2...], as: UTF8.self) == String(repeating: "👍🏽", count: 15))
    }
}

/// Masking in place must equal the naive definition for every length, key offset and
/// alignment, since the word loop and the byte loop meet at different places.
@Suite("RFC 6455 §5.3: masking")
struct WebSocketMaskingTests {
    static func naiveMask(_ key: [UInt8], _ bytes: [UInt8], offset: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in byte ^ key[(offset + index) % 4] }
    }

    @Test("word-at-a-time masking equals the byte loop", arguments: 0...3)
    func matchesNaive(keyOffset: Int) {
        let key: [UInt8] = [0x12, 0x34, 0xAB, 0xCD]
        for length in 0...64 {
            let data = [UInt8].pattern(count: length + 8).map { $0 &* 7 &+ 3 }
            for alignment in 0..<8 {
                var storage = data
                storage.withUnsafeMutableBytes { raw in
                    let region = UnsafeMutableRawBufferPointer(rebasing: raw[alignment..<(alignment + length)])
                    applyWebSocketMask((key[0], key[1], key[2], key[3]), to: region, keyOffset: keyOffset)
                }
                let expected =
                    Array(data[..<alignment])
                    + Self.naiveMask(key, Array(data[alignment..<(alignment + length)]), offset: keyOffset)
                    + Array(data[(alignment + length)...])
                #expect(storage == expected, "length \(length) alignment \(alignment)")
            }
        }
    }

    @Test("key offsets past 3 wrap, and masking in pieces equals masking at once")
    func piecewise() {
        let key: (UInt8, UInt8, UInt8, UInt8) = (9, 8, 7, 6)
        let data = [UInt8].pattern(count: 100)
        var whole = data
        whole.withUnsafeMutableBytes { applyWebSocketMask(key, to: $0) }
        for cut in 0...data.count {
            var pieces = data
            pieces.withUnsafeMutableBytes { raw in
                applyWebSocketMask(key, to: UnsafeMutableRawBufferPointer(rebasing: raw[..<cut]))
                applyWebSocketMask(key, to: UnsafeMutableRawBufferPointer(rebasing: raw[cut...]), keyOffset: cut)
            }
            #expect(pieces == whole, "cut at \(cut)")
        }
        var wrapped = data
        wrapped.withUnsafeMutableBytes { applyWebSocketMask(key, to: $0, keyOffset: 4 * 1000 + 1) }
        #expect(wrapped == Self.naiveMask([9, 8, 7, 6], data, offset: 1))
    }

    @Test("masking twice restores the payload; encode masks after the header")
    func involution() {
        let payload = [UInt8].pattern(count: 300)
        let frame = WebSocketFrame.encode(opcode: .binary, payload: payload, maskingKey: (1, 2, 3, 4))
        #expect(frame.count == 4 + 4 + 300)
        var body = Array(frame[8...])
        #expect(body != payload)
        body.withUnsafeMutableBytes { applyWebSocketMask((1, 2, 3, 4), to: $0) }
        #expect(body == payload)
    }
}
