/// Streaming UTF-8 validation (RFC 3629 §4; the Unicode Standard, Table 3-7), for WebSocket
/// text messages (RFC 6455 §5.6, §8.1) whose fragments arrive in pieces.
///
/// Each lead byte narrows the range its next byte must fall in, so overlong forms (C0 80,
/// E0 80 80, F0 80 80 80), surrogates (ED A0 80 and up), code points above U+10FFFF (F4 90 and
/// up, F5–FF) and stray or missing continuation bytes fail at the first byte that makes the
/// input invalid, however the input is split. That lets a session fail a text message with
/// 1007 on its first bad fragment rather than after the whole message arrived.
///
/// ASCII, the common case, is skipped 8 bytes at a time.
public struct UTF8Validator: Sendable {
    /// Continuation bytes still expected for the current code point (0–3).
    private var pending: UInt8 = 0
    /// The allowed range of the next continuation byte. Only the second byte of a sequence has a
    /// range narrower than 80–BF.
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF
    private var failed = false

    public init() {}

    /// Checks the next bytes of the text; false as soon as the text so far is not a prefix of
    /// valid UTF-8. Once false, it stays false until ``reset()``.
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !failed else { return false }
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return true }
        var pending = self.pending
        var lower = self.lower
        var upper = self.upper
        var index = 0
        while index < count {
            if pending == 0 {
                // ASCII fast path: eight bytes with no high bit set.
                while count &- index >= 8,
                    base.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                {
                    index &+= 8
                }
                guard index < count else { break }
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index &+= 1
                if byte < 0x80 { continue }
                lower = 0x80
                upper = 0xBF
                switch byte {
                case 0xC2...0xDF:
                    pending = 1
                case 0xE0:
                    pending = 2
                    lower = 0xA0  // below: overlong 3-byte forms
                case 0xE1...0xEC, 0xEE...0xEF:
                    pending = 2
                case 0xED:
                    pending = 2
                    upper = 0x9F  // above: surrogates U+D800–U+DFFF
                case 0xF0:
                    pending = 3
                    lower = 0x90  // below: overlong 4-byte forms
                case 0xF1...0xF3:
                    pending = 3
                case 0xF4:
                    pending = 3
                    upper = 0x8F  // above: beyond U+10FFFF
                default:
                    // 80–BF without a lead byte; C0, C1 (always overlong); F5–FF.
                    failed = true
                    return false
                }
            } else {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index &+= 1
                guard byte >= lower && byte <= upper else {
                    failed = true
                    return false
                }
                pending &-= 1
                lower = 0x80
                upper = 0xBF
            }
        }
        self.pending = pending
        self.lower = lower
        self.upper = upper
        return true
    }

    /// Checks the next bytes of the text; see ``validate(_:)-(UnsafeRawBufferPointer)``.
    public mutating func validate(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { validate($0) }
    }

    /// Whether the text so far is valid and ends on a code point boundary: no sequence is
    /// waiting for continuation bytes. Check it at the end of a message.
    public var isAtCharacterBoundary: Bool { !failed && pending == 0 }

    /// Starts over for a new text.
    public mutating func reset() {
        self = UTF8Validator()
    }

    /// Whether `bytes` are complete, valid UTF-8.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.validate(bytes) && validator.isAtCharacterBoundary
    }
}
