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
        let bitLength = length &* 8
        var padding: [UInt8] = [0x80]
        // Pad to 56 mod 64, leaving 8 bytes for the length.
        let used = (pending.count + 1) % Self.blockSize
        let zeros = used <= 56 ? 56 - used : 56 + Self.blockSize - used
        padding.append(contentsOf: repeatElement(0, count: zeros))
        for shift in stride(from: 56, through: 0, by: -8) {
            padding.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        let savedLength = length
        padding.withUnsafeBytes { update($0) }
        length = savedLength
        assert(pending.isEmpty)
        var digest: [UInt8] = []
        digest.reserveCapacity(Self.digestSize)
        for word in [h0, h1, h2, h3, h4] {
            digest.append(UInt8(truncatingIfNeeded: word >> 24))
            digest.append(UInt8(truncatingIfNeeded: word >> 16))
            digest.append(UInt8(truncatingIfNeeded: word >> 8))
            digest.append(UInt8(truncatingIfNeeded: word))
        }
        return digest
    }

    /// The digest of `bytes`.
    static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var sha = SHA1()
        sha.update(bytes)
        return sha.finalize()
    }

    /// Processes one 64-byte block (FIPS 180-4 §6.1.2).
    private mutating func compress(block: UnsafeRawBufferPointer) {
        assert(block.count == Self.blockSize)
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            for t in 0..<16 {
                w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self))
            }
            for t in 16..<80 {
                w[t] = rotateLeft(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1)
            }
            var a = h0
            var b = h1
            var c = h2
            var d = h3
            var e = h4
            for t in 0..<80 {
                let f: UInt32
                let k: UInt32
                switch t {
                case 0..<20:
                    f = (b & c) | (~b & d)
                    k = 0x5A82_7999
                case 20..<40:
                    f = b ^ c ^ d
                    k = 0x6ED9_EBA1
                case 40..<60:
                    f = (b & c) | (b & d) | (c & d)
                    k = 0x8F1B_BCDC
                default:
                    f = b ^ c ^ d
                    k = 0xCA62_C1D6
                }
                let temp = rotateLeft(a, 5) &+ f &+ e &+ k &+ w[t]
                e = d
                d = c
                c = rotateLeft(b, 30)
                b = a
                a = temp
            }
            h0 &+= a
            h1 &+= b
            h2 &+= c
            h3 &+= d
            h4 &+= e
        }
    }

    @inline(__always)
    private func rotateLeft(_ value: UInt32, _ count: UInt32) -> UInt32 {
        (value << count) | (value >> (32 - count))
    }
}
