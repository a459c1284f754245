internal import CSwitchboardSHA1

/// SHA-1 (RFC 3174; FIPS 180-4 §6.1), for `Sec-WebSocket-Accept` (RFC 6455 §4.2.2) and the
/// names Redis gives its scripts (`EVALSHA`): digests that name, never protect.
///
/// One small digest per handshake does not justify linking a crypto library. SHA-1 is broken
/// for collision resistance, which neither use relies on: the accept value only proves the
/// server understood the WebSocket request. Do not use this for anything that must resist forgery.
package struct SHA1: Sendable {
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
    package static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
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

    /// Processes one 64-byte block (FIPS 180-4 §6.1.2).
    private mutating func compress(block: UnsafeRawBufferPointer) {
        assert(block.count == Self.blockSize)
        if Self.hasHardwareCompression {
            compressInHardware(block: block)
        } else {
            compressInSoftware(block: block)
        }
    }

    /// Whether the CPU's SHA extensions do the compression (x86-64 SHA-NI):
    /// ~300 instructions a block instead of ~1,860.
    static let hasHardwareCompression = switchboard_sha1_hardware_available() != 0

    /// `compress(block:)` on the SHA extensions; only where ``hasHardwareCompression``.
    mutating func compressInHardware(block: UnsafeRawBufferPointer) {
        precondition(Self.hasHardwareCompression && block.count == Self.blockSize)
        // A homogeneous tuple is laid out as a C array.
        var state = (h0, h1, h2, h3, h4)
        withUnsafeMutableBytes(of: &state) { words in
            switchboard_sha1_compress_hardware(
                words.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt32.self),
                block.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self), 1)
        }
        (h0, h1, h2, h3, h4) = state
    }

    /// `compress(block:)` in portable Swift, keeping the message schedule
    /// as a ring of 16 words (§6.1.3) rather than all 80.
    ///
    /// Rounds go five at a time with the working variables' roles rotated
    /// (round t+1's `a` is round t's new value, held in `e`'s register), so
    /// no round spends instructions shifting five variables along: about
    /// 22 instructions a round where the plain loop took 34 (callgrind).
    mutating func compressInSoftware(block: UnsafeRawBufferPointer) {
        precondition(block.count == Self.blockSize)
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { w in
            let w = w.baseAddress!
            for t in 0..<16 {
                w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self))
            }
            var a = h0
            var b = h1
            var c = h2
            var d = h3
            var e = h4
            var t = 0
            while t < 20 {
                Self.round(a, &b, c, d, &e, Self.choose(b, c, d) &+ 0x5A82_7999, Self.word(w, t))
                Self.round(e, &a, b, c, &d, Self.choose(a, b, c) &+ 0x5A82_7999, Self.word(w, t &+ 1))
                Self.round(d, &e, a, b, &c, Self.choose(e, a, b) &+ 0x5A82_7999, Self.word(w, t &+ 2))
                Self.round(c, &d, e, a, &b, Self.choose(d, e, a) &+ 0x5A82_7999, Self.word(w, t &+ 3))
                Self.round(b, &c, d, e, &a, Self.choose(c, d, e) &+ 0x5A82_7999, Self.word(w, t &+ 4))
                t &+= 5
            }
            while t < 40 {
                Self.round(a, &b, c, d, &e, (b ^ c ^ d) &+ 0x6ED9_EBA1, Self.word(w, t))
                Self.round(e, &a, b, c, &d, (a ^ b ^ c) &+ 0x6ED9_EBA1, Self.word(w, t &+ 1))
                Self.round(d, &e, a, b, &c, (e ^ a ^ b) &+ 0x6ED9_EBA1, Self.word(w, t &+ 2))
                Self.round(c, &d, e, a, &b, (d ^ e ^ a) &+ 0x6ED9_EBA1, Self.word(w, t &+ 3))
                Self.round(b, &c, d, e, &a, (c ^ d ^ e) &+ 0x6ED9_EBA1, Self.word(w, t &+ 4))
                t &+= 5
            }
            while t < 60 {
                Self.round(a, &b, c, d, &e, Self.majority(b, c, d) &+ 0x8F1B_BCDC, Self.word(w, t))
                Self.round(e, &a, b, c, &d, Self.majority(a, b, c) &+ 0x8F1B_BCDC, Self.word(w, t &+ 1))
                Self.round(d, &e, a, b, &c, Self.majority(e, a, b) &+ 0x8F1B_BCDC, Self.word(w, t &+ 2))
                Self.round(c, &d, e, a, &b, Self.majority(d, e, a) &+ 0x8F1B_BCDC, Self.word(w, t &+ 3))
                Self.round(b, &c, d, e, &a, Self.majority(c, d, e) &+ 0x8F1B_BCDC, Self.word(w, t &+ 4))
                t &+= 5
            }
            while t < 80 {
                Self.round(a, &b, c, d, &e, (b ^ c ^ d) &+ 0xCA62_C1D6, Self.word(w, t))
                Self.round(e, &a, b, c, &d, (a ^ b ^ c) &+ 0xCA62_C1D6, Self.word(w, t &+ 1))
                Self.round(d, &e, a, b, &c, (e ^ a ^ b) &+ 0xCA62_C1D6, Self.word(w, t &+ 2))
                Self.round(c, &d, e, a, &b, (d ^ e ^ a) &+ 0xCA62_C1D6, Self.word(w, t &+ 3))
                Self.round(b, &c, d, e, &a, (c ^ d ^ e) &+ 0xCA62_C1D6, Self.word(w, t &+ 4))
                t &+= 5
            }
            h0 &+= a
            h1 &+= b
            h2 &+= c
            h3 &+= d
            h4 &+= e
        }
    }

    /// One round: `e` becomes the new `a` (ROTL5(a) + f + e + K + W), `b`
    /// becomes ROTL30(b); `functionAndConstant` is f(b, c, d) + K.
    @inline(__always)
    private static func round(
        _ a: UInt32, _ b: inout UInt32, _ c: UInt32, _ d: UInt32, _ e: inout UInt32,
        _ functionAndConstant: UInt32, _ word: UInt32
    ) {
        e = rotateLeft(a, 5) &+ functionAndConstant &+ e &+ word
        b = rotateLeft(b, 30)
    }

    /// Word t of the schedule (§6.1.2 step 1) from the ring of the last 16.
    @inline(__always)
    private static func word(_ w: UnsafeMutablePointer<UInt32>, _ t: Int) -> UInt32 {
        if t < 16 { return w[t] }
        let word = rotateLeft(w[(t &- 3) & 15] ^ w[(t &- 8) & 15] ^ w[(t &- 14) & 15] ^ w[t & 15], 1)
        w[t & 15] = word
        return word
    }

    @inline(__always)
    private static func choose(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { (x & y) | (~x & z) }

    @inline(__always)
    private static func majority(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { (x & y) | (x & z) | (y & z) }

    @inline(__always)
    private static func rotateLeft(_ value: UInt32, _ count: UInt32) -> UInt32 {
        // Masking shifts: one instruction each, no check for overshifting.
        (value &<< count) | (value &>> (32 &- count))
    }
}
