/// SHA-1 (RFC 3174; FIPS 180-4 §6.1), for `Sec-WebSocket-Accept` (RFC 6455 §4.2.2) only.
///
/// One small digest per handshake does not justify linking a crypto library. SHA-1 is broken
/// for collision resistance, which the handshake does not rely on: the accept value only
/// proves the server understood the WebSocket request. Do not use this for anything else.
struct SHA1: Sendable {
    /// The digest size in bytes.
    static let digestSize = 20
    /// The block size in bytes.
    static let blockSize = 64

    private var h0: UInt32 = 0x6745_2301
    private var h1: UInt32 = 0xEFCD_AB89
    private var h2: UInt32 = 0x98BA_DCFE
    private var h3: UInt32 = 0x1032_5476
    private var h4: UInt32 = 0xC3D2_E1F0
    /// Bytes of an incomplete block, fewer than ``blockSize``.
    private var pending: [UInt8] = []
    /// Message length so far, in bytes.
    private var length: UInt64 = 0

    init() {}

    /// Hashes more of the message.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var index = 0
        if !pending.isEmpty {
            let take = min(Self.blockSize - pending.count, bytes.count)
            pending.append(contentsOf: HTTPSyntax.bytes(UnsafeRawBufferPointer(rebasing: bytes[0..<take])))
            index = take
            guard pending.count == Self.blockSize else { return }
            pending.withUnsafeBytes { compress(block: $0) }
            pending.removeAll(keepingCapacity: true)
        }
        while bytes.count - index >= Self.blockSize {
            compress(block: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + Self.blockSize)]))
            index += Self.blockSize
        }
        if index < bytes.count {
            pending.append(contentsOf: HTTPSyntax.bytes(UnsafeRawBufferPointer(rebasing: bytes[index...])))
        }
    }

    /// Hashes more of the message.
    mutating func update(_ bytes: some Sequence<UInt8>) {
        Array(bytes).withUnsafeBytes { update($0) }
    }

    /// Pads the message (FIPS 180-4 §5.1.1) and returns the 20-byte digest.
    consuming func finalize() -> [UInt8] {
        let tail = pending
        let total = length
        pending = []
        tail.withUnsafeBytes { finish(tail: $0, totalLength: total) }
        return [UInt8](unsafeUninitializedCapacity: Self.digestSize) { buffer, count in
            writeDigest(to: UnsafeMutableRawBufferPointer(buffer))
            count = Self.digestSize
        }
    }

    /// The digest of `bytes`.
    static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var sha = SHA1()
        sha.update(bytes)
        return sha.finalize()
    }

    /// Writes the digest of `bytes` to the first 20 bytes of `output`, with no
    /// heap allocation (the handshake's path).
    static func hash(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= digestSize)
        var sha = SHA1()
        let whole = bytes.count / blockSize * blockSize
        var offset = 0
        while offset < whole {
            sha.compress(block: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + blockSize)]))
            offset += blockSize
        }
        sha.finish(tail: UnsafeRawBufferPointer(rebasing: bytes[whole...]), totalLength: UInt64(bytes.count))
        sha.writeDigest(to: output)
    }

    /// Hashes the last partial block (fewer than 64 bytes) with the padding
    /// (FIPS 180-4 §5.1.1): 0x80, zeros to 56 mod 64, the length in bits.
    private mutating func finish(tail: UnsafeRawBufferPointer, totalLength: UInt64) {
        assert(tail.count < Self.blockSize)
        withUnsafeTemporaryAllocation(byteCount: 2 * Self.blockSize, alignment: 8) { padded in
            padded.initializeMemory(as: UInt8.self, repeating: 0)
            padded.copyMemory(from: tail)
            padded[tail.count] = 0x80
            let blocks = tail.count + 1 + 8 <= Self.blockSize ? 1 : 2
            let end = blocks * Self.blockSize
            padded.storeBytes(of: (totalLength &* 8).bigEndian, toByteOffset: end - 8, as: UInt64.self)
            compress(block: UnsafeRawBufferPointer(rebasing: padded[0..<Self.blockSize]))
            if blocks == 2 {
                compress(block: UnsafeRawBufferPointer(rebasing: padded[Self.blockSize..<end]))
            }
        }
    }

    private func writeDigest(to output: UnsafeMutableRawBufferPointer) {
        output.storeBytes(of: h0.bigEndian, toByteOffset: 0, as: UInt32.self)
        output.storeBytes(of: h1.bigEndian, toByteOffset: 4, as: UInt32.self)
        output.storeBytes(of: h2.bigEndian, toByteOffset: 8, as: UInt32.self)
        output.storeBytes(of: h3.bigEndian, toByteOffset: 12, as: UInt32.self)
        output.storeBytes(of: h4.bigEndian, toByteOffset: 16, as: UInt32.self)
    }

    /// Processes one 64-byte block (FIPS 180-4 §6.1.2), keeping the message
    /// schedule as a ring of 16 words (§6.1.3) rather than all 80.
    private mutating func compress(block: UnsafeRawBufferPointer) {
        assert(block.count == Self.blockSize)
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { w in
            for t in 0..<16 {
                w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self))
            }
            var a = h0
            var b = h1
            var c = h2
            var d = h3
            var e = h4
            // Four loops of twenty rounds, one per round function, written
            // out without helpers: the five working variables stay in
            // registers (closures capturing them kept them in memory).
            for t in 0..<20 {
                let word: UInt32
                if t < 16 {
                    word = w[t]
                } else {
                    word = Self.rotateLeft(w[(t &- 3) & 15] ^ w[(t &- 8) & 15] ^ w[(t &- 14) & 15] ^ w[t & 15], 1)
                    w[t & 15] = word
                }
                let temp = Self.rotateLeft(a, 5) &+ ((b & c) | (~b & d)) &+ e &+ 0x5A82_7999 &+ word
                e = d; d = c; c = Self.rotateLeft(b, 30); b = a; a = temp
            }
            for t in 20..<40 {
                let word = Self.rotateLeft(w[(t &- 3) & 15] ^ w[(t &- 8) & 15] ^ w[(t &- 14) & 15] ^ w[t & 15], 1)
                w[t & 15] = word
                let temp = Self.rotateLeft(a, 5) &+ (b ^ c ^ d) &+ e &+ 0x6ED9_EBA1 &+ word
                e = d; d = c; c = Self.rotateLeft(b, 30); b = a; a = temp
            }
            for t in 40..<60 {
                let word = Self.rotateLeft(w[(t &- 3) & 15] ^ w[(t &- 8) & 15] ^ w[(t &- 14) & 15] ^ w[t & 15], 1)
                w[t & 15] = word
                let temp = Self.rotateLeft(a, 5) &+ ((b & c) | (b & d) | (c & d)) &+ e &+ 0x8F1B_BCDC &+ word
                e = d; d = c; c = Self.rotateLeft(b, 30); b = a; a = temp
            }
            for t in 60..<80 {
                let word = Self.rotateLeft(w[(t &- 3) & 15] ^ w[(t &- 8) & 15] ^ w[(t &- 14) & 15] ^ w[t & 15], 1)
                w[t & 15] = word
                let temp = Self.rotateLeft(a, 5) &+ (b ^ c ^ d) &+ e &+ 0xCA62_C1D6 &+ word
                e = d; d = c; c = Self.rotateLeft(b, 30); b = a; a = temp
            }
            h0 &+= a
            h1 &+= b
            h2 &+= c
            h3 &+= d
            h4 &+= e
        }
    }

    @inline(__always)
    private static func rotateLeft(_ value: UInt32, _ count: UInt32) -> UInt32 {
        // Masking shifts: one instruction each, no check for overshifting.
        (value &<< count) | (value &>> (32 &- count))
    }
}
