/// Where a request line's parts lie, as offsets into the scanned region.
struct HTTPRequestLineRange: Sendable {
    var method: Range<Int>
    var target: Range<Int>
    var version: HTTPVersion
}

/// Where a field line's name and OWS-trimmed value lie, as offsets into the scanned region.
struct HTTPFieldLineRange: Sendable {
    var name: Range<Int>
    var value: Range<Int>
    /// Whether the value has obs-text (bytes 0x80–0xFF), which is not necessarily UTF-8.
    var hasObsText: Bool
}

/// A byte-at-a-time validator for a request head or a chunked trailer section.
///
/// It enforces the line syntax of RFC 9112 and reports each completed line, so the caller can
/// act on it while the bytes are still hot. The scanner never consumes bytes: the caller
/// passes the whole region from the start of the section every time, plus the offset
/// already scanned, and the ranges it reports stay valid while that region start is fixed.
///
/// Because every decision depends only on the bytes before it, feeding a head in any split
/// gives the same lines and the same error.
struct HTTPHeadScanner: Sendable {
    /// Which grammar is scanned.
    enum Section: Sendable {
        /// `request-line *( field-line CRLF ) CRLF` (RFC 9112 §2.1).
        case requestHead
        /// `*( field-line CRLF ) CRLF` after the last chunk (RFC 9112 §7.1.2).
        case trailers
    }

    /// What one call to ``next(in:offset:limits:)`` found.
    enum Step: Sendable {
        /// The region ends before the next line does.
        case needMore
        case requestLine(HTTPRequestLineRange)
        case fieldLine(HTTPFieldLineRange)
        /// The empty line ending the section; the offset is just past its LF.
        case end
    }

    private enum State: UInt8, Sendable {
        /// Before the request line: empty lines are skipped (RFC 9112 §2.2).
        case idle
        case idleLF
        case method
        case target
        case version
        case requestLineLF
        case lineStart
        case name
        case valueLeadingWhitespace
        case value
        case fieldLineLF
        case endLF
        case done
    }

    private let section: Section
    private let limits: HTTPParserLimits
    private var state: State
    /// Offset at which the section stops fitting in `maxHeadSize`; set at the first byte.
    private var limitIndex = Int.max
    private var emptyLines = 0
    private var fieldCount = 0
    /// Start and end of the current method or field name.
    private var tokenStart = 0
    private var tokenEnd = 0
    /// Start and end of the current request-target or OWS-trimmed field value.
    private var textStart = 0
    private var textEnd = 0
    /// The OR of every value byte of the current line: bit 7 set means obs-text.
    private var valueBits: UInt8 = 0
    private var versionBytes: UInt64 = 0
    private var versionLength = 0

    /// A scanner for `section`; a trailer section must start at offset 0 of the region.
    init(section: Section, limits: HTTPParserLimits) {
        self.section = section
        self.limits = limits
        switch section {
        case .requestHead:
            self.state = .idle
        case .trailers:
            self.state = .lineStart
            self.limitIndex = max(0, limits.maxHeadSize)
        }
    }

    /// Whether nothing but skipped empty lines has been scanned: the caller may then drop
    /// the scanned bytes and restart the region after them.
    var isBeforeRequestLine: Bool { state == .idle }

    private static let http11: UInt64 = 0x4854_5450_2F31_2E31  // "HTTP/1.1"
    private static let http10: UInt64 = 0x4854_5450_2F31_2E30  // "HTTP/1.0"

    /// Scans `region` from `offset` until a line completes, the section ends or the bytes run
    /// out. `offset` is advanced past what was scanned.
    mutating func next(in region: UnsafeRawBufferPointer, offset: inout Int) throws(HTTPRefusal) -> Step {
        var index = offset
        defer { offset = index }
        let count = region.count
        guard count > 0 else { return .needMore }
        // Indexed without bounds checks: every index below is under `count`.
        let bytes = region.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
        let fieldLimit = min(limits.maxHeaderCount, HTTPGrammarLimits.maxFieldsStorable)

        while index < count {
            // RFC 6585 §5: answer 431 as soon as the incomplete section passes the limit.
            if index >= limitIndex {
                throw section == .requestHead ? .headTooLarge : .trailersTooLarge
            }
            let byte = bytes[index]
            switch state {
            case .idle:
                if byte == HTTPSyntax.cr {
                    state = .idleLF
                } else if HTTPSyntax.isTokenChar(byte) {
                    state = .method
                    tokenStart = index
                    limitIndex = Self.offset(index, plus: limits.maxHeadSize)
                } else if byte == HTTPSyntax.lf {
                    throw .badRequest("bare LF")
                } else {
                    throw .badRequest("invalid request line")
                }
                index += 1

            case .idleLF:
                guard byte == HTTPSyntax.lf else { throw .badRequest("bare CR") }
                emptyLines += 1
                guard emptyLines <= HTTPGrammarLimits.maxLeadingEmptyLines else {
                    throw .badRequest("too many empty lines before request")
                }
                state = .idle
                index += 1

            case .method:
                // method = token (RFC 9110 §9.1), then exactly one SP (RFC 9112 §3).
                var scan = index
                let end = min(count, limitIndex)
                while scan < end, HTTPSyntax.isTokenChar(bytes[scan]) { scan &+= 1 }
                index = scan
                guard scan < end else { continue }
                guard bytes[scan] == HTTPSyntax.sp else {
                    throw Self.lineError(bytes[scan], "invalid method", atCR: "malformed request line")
                }
                tokenEnd = scan
                textStart = scan + 1
                state = .target
                index += 1

            case .target:
                // request-target: visible ASCII only (RFC 9112 §3.2), bounded for 414.
                var scan = index
                let end = min(count, limitIndex)
                let targetEnd = Self.offset(textStart, plus: limits.maxRequestTargetLength)
                while scan < end, HTTPSyntax.isVisible(bytes[scan]) {
                    guard scan < targetEnd else { throw .uriTooLong }
                    scan &+= 1
                }
                index = scan
                guard scan < end else { continue }
                guard bytes[scan] == HTTPSyntax.sp else {
                    throw Self.lineError(bytes[scan], "invalid request-target", atCR: "malformed request line")
                }
                guard scan > textStart else { throw .badRequest("empty request-target") }
                textEnd = scan
                versionBytes = 0
                versionLength = 0
                state = .version
                index += 1

            case .version:
                if byte == HTTPSyntax.cr {
                    state = .requestLineLF
                } else if HTTPSyntax.isVisible(byte) && versionLength < 8 {
                    versionBytes = versionBytes << 8 | UInt64(byte)
                    versionLength += 1
                } else {
                    throw Self.lineError(byte, "invalid HTTP version")
                }
                index += 1

            case .requestLineLF:
                guard byte == HTTPSyntax.lf else { throw .badRequest("bare CR") }
                index += 1
                state = .lineStart
                return .requestLine(
                    HTTPRequestLineRange(method: tokenStart..<tokenEnd, target: textStart..<textEnd, version: try parsedVersion())
                )

            case .lineStart:
                if HTTPSyntax.isTokenChar(byte) {
                    tokenStart = index
                    state = .name
                } else if byte == HTTPSyntax.cr {
                    state = .endLF
                } else if HTTPSyntax.isWhitespace(byte) {
                    // RFC 9112 §5.2: obs-fold is rejected, and §2.2: so is whitespace
                    // between the start line and the first field line.
                    throw .badRequest("obsolete line folding")
                } else if byte == HTTPSyntax.colon {
                    throw .badRequest("empty field name")
                } else if byte == HTTPSyntax.lf {
                    throw .badRequest("bare LF")
                } else {
                    throw .badRequest("invalid field name")
                }
                index += 1

            case .name:
                // field-name = token, immediately followed by ":" (RFC 9112 §5.1).
                var scan = index
                let end = min(count, limitIndex)
                while scan < end, HTTPSyntax.isTokenChar(bytes[scan]) { scan &+= 1 }
                index = scan
                guard scan < end else { continue }
                let next = bytes[scan]
                if next == HTTPSyntax.colon {
                    tokenEnd = scan
                    state = .valueLeadingWhitespace
                    index += 1
                } else if HTTPSyntax.isWhitespace(next) {
                    throw .badRequest("whitespace before colon")
                } else {
                    throw Self.lineError(next, "invalid field name", atCR: "field line without colon")
                }

            case .valueLeadingWhitespace:
                if HTTPSyntax.isWhitespace(byte) {
                    // OWS before the value (RFC 9112 §5).
                } else if HTTPSyntax.isFieldVisible(byte) {
                    textStart = index
                    textEnd = index + 1
                    valueBits = byte
                    state = .value
                } else if byte == HTTPSyntax.cr {
                    textStart = index
                    textEnd = index
                    valueBits = 0
                    state = .fieldLineLF
                } else {
                    throw Self.lineError(byte, "invalid character in field value")
                }
                index += 1

            case .value:
                // field-value bytes: HTAB, SP, VCHAR, obs-text (RFC 9110 §5.5),
                // eight at a time while none is a control byte or DEL (HTAB
                // too then goes byte by byte).
                var scan = index
                var bits = valueBits
                let end = min(count, limitIndex)
                while end &- scan >= 8 {
                    let word = UnsafeRawPointer(bytes + scan).loadUnaligned(as: UInt64.self)
                    let high: UInt64 = 0x8080_8080_8080_8080
                    let belowSpace = (word &- 0x2020_2020_2020_2020) & ~word & high
                    let delete = word ^ 0x7F7F_7F7F_7F7F_7F7F
                    let isDelete = (delete &- 0x0101_0101_0101_0101) & ~delete & high
                    guard belowSpace | isDelete == 0 else { break }
                    if word & high != 0 { bits |= 0x80 }
                    scan &+= 8
                }
                while scan < end {
                    let current = bytes[scan]
                    if HTTPSyntax.isFieldVisible(current) {
                        bits |= current
                    } else if !HTTPSyntax.isWhitespace(current) {
                        break
                    }
                    scan &+= 1
                }
                valueBits = bits
                index = scan
                guard scan < end else { continue }
                guard bytes[scan] == HTTPSyntax.cr else {
                    throw Self.lineError(bytes[scan], "invalid character in field value")
                }
                // OWS after the value is not part of it (RFC 9112 §5): the
                // value ends at its last visible byte.
                var valueEnd = scan
                while valueEnd > textStart, HTTPSyntax.isWhitespace(bytes[valueEnd &- 1]) { valueEnd &-= 1 }
                textEnd = valueEnd
                state = .fieldLineLF
                index += 1

            case .fieldLineLF:
                guard byte == HTTPSyntax.lf else { throw .badRequest("bare CR") }
                index += 1
                fieldCount += 1
                guard fieldCount <= fieldLimit else { throw .tooManyFields }
                state = .lineStart
                return .fieldLine(
                    HTTPFieldLineRange(name: tokenStart..<tokenEnd, value: textStart..<textEnd, hasObsText: valueBits >= 0x80)
                )

            case .endLF:
                guard byte == HTTPSyntax.lf else { throw .badRequest("bare CR") }
                index += 1
                state = .done
                return .end

            case .done:
                return .end
            }
        }
        return .needMore
    }

    /// RFC 9112 §2.3: `HTTP-version = "HTTP/" DIGIT "." DIGIT`. Other well-formed versions
    /// answer 505; anything else is a malformed request line.
    private func parsedVersion() throws(HTTPRefusal) -> HTTPVersion {
        if versionLength == 8 {
            if versionBytes == Self.http11 { return .http1_1 }
            if versionBytes == Self.http10 { return .http1_0 }
            let major = UInt8(truncatingIfNeeded: versionBytes >> 16)
            let dot = UInt8(truncatingIfNeeded: versionBytes >> 8)
            let minor = UInt8(truncatingIfNeeded: versionBytes)
            if versionBytes >> 24 == Self.http11 >> 24 && HTTPSyntax.isDigit(major)
                && dot == UInt8(ascii: ".") && HTTPSyntax.isDigit(minor)
            {
                throw .versionNotSupported
            }
        }
        throw .badRequest("invalid HTTP version")
    }

    /// The error for an unexpected byte: a bare LF gets its own reason (RFC 9112 §2.2), and
    /// a CR that ends the line too early gets `atCR`.
    private static func lineError(_ byte: UInt8, _ reason: String, atCR: String? = nil) -> HTTPRefusal {
        switch byte {
        case HTTPSyntax.lf: return .badRequest("bare LF")
        case HTTPSyntax.cr: return .badRequest(atCR ?? reason)
        default: return .badRequest(reason)
        }
    }

    /// `base + length`, saturating instead of overflowing for huge configured limits.
    private static func offset(_ base: Int, plus length: Int) -> Int {
        let (sum, overflow) = base.addingReportingOverflow(max(0, length))
        return overflow ? Int.max : sum
    }
}
