import Testing

@testable import SwitchboardWire

@Suite("RFC 3174: SHA-1")
struct SHA1Tests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let input: [UInt8]
        let digest: String
        var testDescription: String { name }
    }

    /// RFC 3174 §7.3 TEST1–TEST4, plus the empty message and block-boundary lengths
    /// (FIPS 180-4 padding needs a second block from 56 bytes on).
    static let vectors: [Vector] = [
        Vector(name: "TEST1 abc", input: Array("abc".utf8), digest: "a9993e364706816aba3e25717850c26c9cd0d89d"),
        Vector(
            name: "TEST2 448 bits",
            input: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
            digest: "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        ),
        Vector(
            name: "TEST3 one million a",
            input: [UInt8](repeating: 0x61, count: 1_000_000),
            digest: "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        ),
        Vector(
            name: "TEST4 01234567 x 80",
            input: Array(
                String(repeating: "0123456701234567012345670123456701234567012345670123456701234567", count: 10).utf8),
            digest: "dea356a2cddd90c7a7ecedc5ebb563934f460452"
        ),
        Vector(name: "empty", input: [], digest: "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        Vector(
            name: "the quick brown fox",
            input: Array("The quick brown fox jumps over the lazy dog".utf8),
            digest: "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"
        ),
    ]

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test("test vectors", arguments: vectors)
    func vector(_ vector: Vector) {
        #expect(Self.hex(SHA1.hash(vector.input)) == vector.digest)
    }

    @Test("updating in pieces equals hashing at once")
    func incremental() {
        let input = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8) + [UInt8].pattern(count: 100)
        let expected = SHA1.hash(input)
        for cut in 0...input.count {
            var sha = SHA1()
            sha.update(input[..<cut])
            sha.update(input[cut...])
            #expect(sha.finalize() == expected, "cut at \(cut)")
        }
        var bytewise = SHA1()
        for byte in input { bytewise.update(CollectionOfOne(byte)) }
        #expect(bytewise.finalize() == expected)
    }

    @Test("padding at every length around the block boundary")
    func paddingLengths() {
        // Known digests of "a" repeated 55, 56, 63, 64 and 65 times.
        let known: [Int: String] = [
            55: "c1c8bbdc22796e28c0e15163d20899b65621d65a",
            56: "c2db330f6083854c99d4b5bfb6e8f29f201be699",
            63: "03f09f5b158a7a8cdad920bddc29b81c18a551f5",
            64: "0098ba824b5c16427bd7a1122a5a442a25ec644d",
            65: "11655326c708d70319be2610e8a57d9a5b959d3b",
        ]
        for (count, digest) in known {
            #expect(Self.hex(SHA1.hash([UInt8](repeating: 0x61, count: count))) == digest, "\(count)")
        }
    }

    @Test("the CPU's SHA extensions and the portable rounds agree, block after block", .enabled(if: SHA1.hasHardwareCompression))
    func hardwareMatchesSoftware() {
        // A fixed pseudo-random sequence (xorshift): any failure repeats.
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func nextByte() -> UInt8 {
            seed ^= seed << 13
            seed ^= seed >> 7
            seed ^= seed << 17
            return UInt8(truncatingIfNeeded: seed >> 24)
        }
        var hardware = SHA1()
        var software = SHA1()
        for index in 0..<300 {
            let block = (0..<SHA1.blockSize).map { _ in nextByte() }
            block.withUnsafeBytes {
                hardware.compressInHardware(block: $0)
                software.compressInSoftware(block: $0)
            }
            let (fromHardware, fromSoftware) = (hardware, software)
            #expect(fromHardware.finalize() == fromSoftware.finalize(), "block \(index)")
        }
    }
}
