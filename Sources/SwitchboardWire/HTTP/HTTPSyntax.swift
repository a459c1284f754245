/// Byte classes and small byte-level helpers from the HTTP grammars.
///
/// Everything here is a pure function of a byte, so the parsers can check each input byte
/// with one branch and no table look-ups through globals.
enum HTTPSyntax {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let comma: UInt8 = 0x2C
    static let equals: UInt8 = 0x3D
    static let dquote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C
    static let slash: UInt8 = 0x2F
    static let asterisk: UInt8 = 0x2A
    static let question: UInt8 = 0x3F
    static let hash: UInt8 = 0x23
    static let openBracket: UInt8 = 0x5B
    static let closeBracket: UInt8 = 0x5D

    /// `tchar` (RFC 9110 §5.6.2) as a bit set over ASCII: bits 0–63 and 64–127.
    private static let tcharLow: UInt64 = 0x03FF_6CFA_0000_0000
    private static let tcharHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    /// Host characters: `unreserved / sub-delims / "%"` (RFC 3986 §3.2.2, reg-name and IPv4).
    private static let hostLow: UInt64 = 0x2BFF_7FF2_0000_0000
    private static let hostHigh: UInt64 = 0x47FF_FFFE_87FF_FFFE

    @inline(__always)
    private static func isMember(_ byte: UInt8, low: UInt64, high: UInt64) -> Bool {
        if byte < 64 { return (low >> UInt64(byte)) & 1 == 1 }
        if byte < 128 { return (high >> UInt64(byte &- 64)) & 1 == 1 }
        return false
    }

    /// `tchar`: the characters of a `token` (RFC 9110 §5.6.2), used by methods and field names.
    @inline(__always)
    static func isTokenChar(_ byte: UInt8) -> Bool {
        isMember(byte, low: tcharLow, high: tcharHigh)
    }

    /// `VCHAR`: visible ASCII 0x21–0x7E (RFC 5234 Appendix B.1).
    @inline(__always)
    static func isVisible(_ byte: UInt8) -> Bool {
        byte &- 0x21 < 0x5E
    }

    /// A non-whitespace byte of a field value: `VCHAR / obs-text` (RFC 9110 §5.5).
    @inline(__always)
    static func isFieldVisible(_ byte: UInt8) -> Bool {
        byte >= 0x80 || isVisible(byte)
    }

    /// `SP / HTAB`: the whitespace of `OWS` and `BWS` (RFC 9110 §5.6.3).
    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == sp || byte == htab
    }

    /// A host character outside of IP-literals (RFC 3986 §3.2.2).
    @inline(__always)
    static func isHostChar(_ byte: UInt8) -> Bool {
        isMember(byte, low: hostLow, high: hostHigh)
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- 0x30 < 10
    }

    /// The value of a `HEXDIG` (RFC 5234 Appendix B.1, case-insensitive), or nil.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte &- 0x30
        case 0x41...0x46: return byte &- 0x41 &+ 10
        case 0x61...0x66: return byte &- 0x61 &+ 10
        default: return nil
        }
    }

    /// Whether `bytes` equals the lowercase ASCII `lowercased`, ignoring ASCII case.
    ///
    /// Only valid for literals made of letters, digits and `-`, compared with bytes of a field
    /// name or value: `byte | 0x20` folds exactly the letters, and the only other bytes that
    /// would fold onto a letter, digit or `-` are control characters, which never get here.
    @inline(__always)
    static func equalsCaseInsensitive(_ bytes: UnsafeRawBufferPointer, _ lowercased: StaticString) -> Bool {
        guard bytes.count == lowercased.utf8CodeUnitCount else { return false }
        return lowercased.withUTF8Buffer { literal in
            for index in 0..<literal.count where bytes[index] | 0x20 != literal[index] | 0x20 {
                return false
            }
            return true
        }
    }

    /// Whether `bytes` equals `literal` exactly.
    @inline(__always)
    static func equalsCaseSensitive(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { literal in
            for index in 0..<literal.count where bytes[index] != literal[index] {
                return false
            }
            return true
        }
    }

    /// The bytes with leading and trailing `OWS` removed (RFC 9110 §5.6.3).
    @inline(__always)
    static func trimmingWhitespace(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        var end = bytes.count
        while start < end, isWhitespace(bytes[start]) { start += 1 }
        while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// Calls `body` with each element of a comma-separated list (RFC 9110 §5.6.1), OWS-trimmed.
    /// Empty elements are skipped, as the RFC asks recipients to accept them.
    @inline(__always)
    static func forEachListElement<E: Error>(
        _ bytes: UnsafeRawBufferPointer,
        _ body: (UnsafeRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        var start = 0
        var index = 0
        while index <= bytes.count {
            if index == bytes.count || bytes[index] == comma {
                let element = trimmingWhitespace(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
                if !element.isEmpty { try body(element) }
                start = index + 1
            }
            index += 1
        }
    }

    /// Whether every byte is a `tchar` and there is at least one (RFC 9110 §5.6.2).
    static func isToken(_ bytes: UnsafeRawBufferPointer) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy(isTokenChar)
    }

    /// The same memory typed as bytes; parser regions always come from a `[UInt8]`, whose
    /// memory is bound to `UInt8`, so this is what `Array.append(contentsOf:)` copies fastest.
    @inline(__always)
    static func bytes(_ raw: UnsafeRawBufferPointer) -> UnsafeBufferPointer<UInt8> {
        raw.assumingMemoryBound(to: UInt8.self)
    }

    /// Decodes bytes known to be ASCII or field-value text into a `String`.
    @inline(__always)
    static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
