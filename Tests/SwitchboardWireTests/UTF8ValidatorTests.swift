import Testing

@testable import SwitchboardWire

/// A byte sequence and where validation must fail (the index of the first byte that makes it
/// invalid), or nil when it is valid as a whole.
struct UTF8Case: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    /// Index of the first offending byte; `bytes.count` when only the end is the problem.
    let failsAt: Int?

    init(_ name: String, _ bytes: [UInt8], failsAt: Int? = nil) {
        self.name = name
        self.bytes = bytes
        self.failsAt = failsAt
    }

    var testDescription: String { name }
}

/// Whether `bytes` validate, fed as the given pieces, and the number of bytes fed before
/// the first `false`.
private func validate(_ bytes: [UInt8], cuts: [Int]) -> (valid: Bool, acceptedBytes: Int) {
    var validator = UTF8Validator()
    var start = 0
    for end in cuts + [bytes.count] {
        let ok = bytes[start..<end].withUnsafeBytes { validator.validate($0) }
        if !ok { return (false, start) }
        start = end
    }
    return (validator.isAtCharacterBoundary, bytes.count)
}

@Suite("RFC 3629: streaming UTF-8 validation")
struct UTF8ValidatorTests {
    static let cases: [UTF8Case] = [
        UTF8Case("empty", []),
        UTF8Case("ASCII", Array("Hello, world! 0123456789 long enough for the fast path".utf8)),
        UTF8Case("every length of sequence", Array("aß€𝄞 κόσμε 👍🏽".utf8)),
        UTF8Case("boundaries: U+007F U+0080 U+07FF U+0800", [0x7F, 0xC2, 0x80, 0xDF, 0xBF, 0xE0, 0xA0, 0x80]),
        UTF8Case("boundaries: U+D7FF U+E000 U+FFFF", [0xED, 0x9F, 0xBF, 0xEE, 0x80, 0x80, 0xEF, 0xBF, 0xBF]),
        UTF8Case("boundaries: U+10000 U+10FFFF", [0xF0, 0x90, 0x80, 0x80, 0xF4, 0x8F, 0xBF, 0xBF]),
        UTF8Case("noncharacter U+FFFE is valid UTF-8", [0xEF, 0xBF, 0xBE]),
        UTF8Case("overlong C0 80", [0xC0, 0x80], failsAt: 0),
        UTF8Case("overlong C1 BF", [0xC1, 0xBF], failsAt: 0),
        UTF8Case("overlong E0 80 80", [0xE0, 0x80, 0x80], failsAt: 1),
        UTF8Case("overlong E0 9F BF", [0xE0, 0x9F, 0xBF], failsAt: 1),
        UTF8Case("overlong F0 80 80 80", [0xF0, 0x80, 0x80, 0x80], failsAt: 1),
        UTF8Case("overlong F0 8F BF BF", [0xF0, 0x8F, 0xBF, 0xBF], failsAt: 1),
        UTF8Case("surrogate ED A0 80 (U+D800)", [0xED, 0xA0, 0x80], failsAt: 1),
        UTF8Case("surrogate ED BF BF (U+DFFF)", [0xED, 0xBF, 0xBF], failsAt: 1),
        UTF8Case("surrogate pair as CESU-8", [0xED, 0xA0, 0xBD, 0xED, 0xB2, 0xA9], failsAt: 1),
        UTF8Case("above U+10FFFF: F4 90 80 80", [0xF4, 0x90, 0x80, 0x80], failsAt: 1),
        UTF8Case("F5 lead byte", [0xF5, 0x80, 0x80, 0x80], failsAt: 0),
        UTF8Case("FF", [0x61, 0xFF], failsAt: 1),
        UTF8Case("FE", [0xFE], failsAt: 0),
        UTF8Case("lone continuation", [0x61, 0x80], failsAt: 1),
        UTF8Case("continuation after a complete sequence", [0xC3, 0xA9, 0xA9], failsAt: 2),
        UTF8Case("lead byte then ASCII", [0xE2, 0x28, 0xA1], failsAt: 1),
        UTF8Case("4-byte lead then ASCII in the 4th byte", [0xF0, 0x9D, 0x84, 0x28], failsAt: 3),
        UTF8Case("truncated 2-byte at end", [0x61, 0xC3], failsAt: 2),
        UTF8Case("truncated 3-byte at end", [0xE2, 0x82], failsAt: 2),
        UTF8Case("truncated 4-byte at end", [0xF0, 0x9D, 0x84], failsAt: 3),
        UTF8Case("invalid after 16 ASCII bytes", Array("0123456789abcdef".utf8) + [0x80], failsAt: 16),
        UTF8Case("invalid at byte 8 of a word", Array("01234567".utf8) + [0xC0] + Array("01234567".utf8), failsAt: 8),
    ]

    @Test("whole, split at every point and byte by byte, failing at the earliest byte", arguments: cases)
    func validation(_ row: UTF8Case) {
        let whole = validate(row.bytes, cuts: [])
        #expect(whole.valid == (row.failsAt == nil))
        for cut in 0...row.bytes.count {
            #expect(validate(row.bytes, cuts: [cut]).valid == whole.valid, "cut at \(cut)")
        }
        let byteByByte = validate(row.bytes, cuts: Array(0..<row.bytes.count))
        #expect(byteByByte.valid == whole.valid)
        if let failsAt = row.failsAt {
            // Byte by byte, the validator rejects the offending byte itself.
            #expect(byteByByte.acceptedBytes == failsAt)
        }
    }

    @Test("agrees with the standard library on every 1- and 2-byte input")
    func exhaustiveTwoBytes() {
        for first in 0...255 {
            for second in -1...255 {
                let bytes: [UInt8] = second < 0 ? [UInt8(first)] : [UInt8(first), UInt8(second)]
                let expected = String(validating: bytes, as: UTF8.self) != nil
                #expect(validate(bytes, cuts: []).valid == expected, "\(bytes)")
            }
        }
    }

    @Test("agrees with the standard library on 3- and 4-byte inputs around every range edge")
    func rangeEdges() {
        let edges: [UInt8] = [
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5,
            0xFF,
        ]
        for a in UInt8(0xE0)...0xF7 {
            for b in edges {
                for c in edges {
                    let three = [a, b, c]
                    #expect(
                        validate(three, cuts: []).valid == (String(validating: three, as: UTF8.self) != nil), "\(three)"
                    )
                    for d in edges {
                        let four = [a, b, c, d]
                        #expect(
                            validate(four, cuts: [2]).valid == (String(validating: four, as: UTF8.self) != nil),
                            "\(four)")
                    }
                }
            }
        }
    }

    @Test("a failed validator stays failed until reset")
    func sticky() {
        var validator = UTF8Validator()
        var ok = validator.validate([0xC0])
        #expect(!ok)
        ok = validator.validate(Array("ok".utf8))
        #expect(!ok)
        #expect(!validator.isAtCharacterBoundary)
        validator.reset()
        ok = validator.validate(Array("ok".utf8))
        #expect(ok)
        #expect(validator.isAtCharacterBoundary)
        ok = validator.validate([0xE2])
        #expect(ok)
        #expect(!validator.isAtCharacterBoundary)
    }
}
