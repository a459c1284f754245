import Testing

@testable import SwitchboardDeflate

private func compress(_ compressor: DeflateCompressor, _ bytes: [UInt8]) -> [UInt8] {
    var output: [UInt8] = []
    bytes.withUnsafeBytes { compressor.compress($0, appendingTo: &output) }
    return output
}

private func decompress(_ decompressor: DeflateDecompressor, _ bytes: [UInt8], limit: Int = 1 << 24) throws(DeflateError) -> [UInt8] {
    let result = bytes.withUnsafeBytes { input in
        Result { () throws(DeflateError) in try decompressor.decompress(input, limit: limit) }
    }
    return try result.get()
}

/// Text that compresses like real JSON: repeated keys, varying values.
private func sampleJSON(_ count: Int, seed: Int = 1) -> [UInt8] {
    var text = "["
    var index = 0
    while text.utf8.count < count {
        text += "{\"id\":\(index &* seed),\"name\":\"item-\(index)\",\"price\":\(index % 97).5},"
        index += 1
    }
    return Array(text.utf8.prefix(count))
}

@Suite("permessage-deflate compressor and decompressor (RFC 7692 §7.2)")
struct DeflateTests {
    @Test("RFC 7692 §7.2.3.1: \"Hello\" compresses to the RFC's bytes, and they inflate back")
    func rfcHello() throws {
        let hello = Array("Hello".utf8)
        let compressed: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
        #expect(compress(try DeflateCompressor(contextTakeover: false), hello) == compressed)
        #expect(try decompress(DeflateDecompressor(contextTakeover: false), compressed) == hello)
    }

    @Test("RFC 7692 §7.2.3.2: a second \"Hello\" with context takeover refers back to the first")
    func rfcContextTakeover() throws {
        let decompressor = try DeflateDecompressor(contextTakeover: true)
        #expect(try decompress(decompressor, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]) == Array("Hello".utf8))
        #expect(try decompress(decompressor, [0xF2, 0x00, 0x11, 0x00, 0x00]) == Array("Hello".utf8))

        let compressor = try DeflateCompressor(contextTakeover: true)
        let first = compress(compressor, Array("Hello".utf8))
        let second = compress(compressor, Array("Hello".utf8))
        #expect(second.count < first.count, "the second message should be a back-reference")
        let inflater = try DeflateDecompressor(contextTakeover: true)
        #expect(try decompress(inflater, first) == Array("Hello".utf8))
        #expect(try decompress(inflater, second) == Array("Hello".utf8))
    }

    @Test("RFC 7692 §7.2.3.6: an empty message compresses to one 0x00 byte")
    func emptyMessage() throws {
        #expect(compress(try DeflateCompressor(contextTakeover: false), []) == [0x00])
        #expect(try decompress(DeflateDecompressor(contextTakeover: false), [0x00]) == [])
    }

    /// Found by the websocket-session fuzz target: zlib writes nothing for a
    /// sync flush right after another, so with context takeover an empty
    /// message compressed to no bytes at all, which inflates (with the
    /// appended 00 00 FF FF) as a broken stored block and ruins the peer's
    /// next message.
    @Test("RFC 7692 §7.2.3.6: with context takeover too, an empty message is 0x00 and the stream stays in step")
    func emptyMessageWithContextTakeover() throws {
        let compressor = try DeflateCompressor(contextTakeover: true)
        let decompressor = try DeflateDecompressor(contextTakeover: true)
        for message in ["Hello", "", "", "Hello"].map({ Array($0.utf8) }) {
            let compressed = compress(compressor, message)
            if message.isEmpty { #expect(compressed == [0x00]) }
            #expect(try decompress(decompressor, compressed) == message)
        }
    }

    @Test("round trips of many sizes and windows, each message decodable on its own without takeover",
          arguments: [9, 12, 15])
    func roundTrips(windowBits: Int) throws {
        let compressor = try DeflateCompressor(windowBits: windowBits, contextTakeover: false)
        for size in [1, 100, 1_000, 70_000, 1 << 20] {
            let message = sampleJSON(size, seed: size)
            let compressed = compress(compressor, message)
            #expect(compressed.count < message.count || size < 10)
            // A fresh decompressor per message: nothing depends on earlier messages.
            #expect(try decompress(DeflateDecompressor(windowBits: windowBits, contextTakeover: false), compressed) == message)
        }
        // Random bytes do not shrink but still round-trip.
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<50_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(try decompress(DeflateDecompressor(contextTakeover: false), compress(compressor, noise)) == noise)
    }

    @Test("a decompression bomb stops at the limit; exactly the limit is allowed")
    func bomb() throws {
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        let compressed = compress(try DeflateCompressor(contextTakeover: false), zeros)
        #expect(compressed.count < 64 * 1024, "8 MiB of zeros should compress to a few KiB")
        let decompressor = try DeflateDecompressor(contextTakeover: false)
        #expect(throws: DeflateError.tooLarge) { try decompress(decompressor, compressed, limit: 1 << 20) }
        #expect(throws: DeflateError.tooLarge) { try decompress(decompressor, compressed, limit: (8 << 20) - 1) }
        #expect(try decompress(decompressor, compressed, limit: 8 << 20).count == 8 << 20)
    }

    /// Found by the websocket-session fuzz target: `limit + 1` overflowed,
    /// so `WebSocketConfiguration(maxMessageSize: .max)` with compression
    /// trapped on the first compressed message.
    @Test("a limit of Int.max means no limit, and a negative one fits nothing")
    func extremeLimits() throws {
        let decompressor = try DeflateDecompressor(contextTakeover: false)
        let hello: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
        #expect(try decompress(decompressor, hello, limit: .max) == Array("Hello".utf8))
        let zeros = compress(try DeflateCompressor(contextTakeover: false), [UInt8](repeating: 0, count: 100_000))
        #expect(try decompress(decompressor, zeros, limit: .max).count == 100_000)
        #expect(throws: DeflateError.tooLarge) { try decompress(decompressor, hello, limit: -1) }
        #expect(try decompress(decompressor, [0x00], limit: -1) == [])
    }

    @Test("bytes that are not deflate data fail, and the decompressor stays usable")
    func corruptData() throws {
        let decompressor = try DeflateDecompressor(contextTakeover: false)
        // BTYPE 11 is reserved (RFC 1951 §3.2.3).
        #expect(throws: DeflateError.corrupt) { try decompress(decompressor, [0xFF, 0xFF, 0xFF]) }
        #expect(try decompress(decompressor, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]) == Array("Hello".utf8))
    }

    @Test("a message ended with a final block inflates, and the next one too")
    func finalBlock() throws {
        // "Hello" as one final fixed-Huffman block (what Z_FINISH produces): f3 48 cd c9 c9 07 00.
        let decompressor = try DeflateDecompressor(contextTakeover: true)
        #expect(try decompress(decompressor, [0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]) == Array("Hello".utf8))
        #expect(try decompress(decompressor, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]) == Array("Hello".utf8))
    }

    @Test("out-of-range parameters are refused, not passed to zlib")
    func parameters() {
        #expect(throws: DeflateError.invalidParameters) { try DeflateCompressor(windowBits: 8, contextTakeover: false) }
        #expect(throws: DeflateError.invalidParameters) { try DeflateCompressor(windowBits: 16, contextTakeover: false) }
        #expect(throws: DeflateError.invalidParameters) { try DeflateCompressor(level: 10, contextTakeover: false) }
        #expect(throws: DeflateError.invalidParameters) { try DeflateDecompressor(windowBits: 7, contextTakeover: false) }
    }
}
