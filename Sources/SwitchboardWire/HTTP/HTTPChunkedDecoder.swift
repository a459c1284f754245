/// Decodes a chunked request body (RFC 9112 §7.1) incrementally.
///
/// ```
/// chunked-body = *chunk last-chunk trailer-section CRLF
/// chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
/// ```
///
/// Extensions are checked against that grammar and ignored; trailer fields are checked with
/// the head's field-line rules and discarded (RFC 9112 §7.1.2 lets a recipient drop them).
/// Every line ends in exactly CRLF, so no two parsers can disagree on where a chunk ends.
struct HTTPChunkedDecoder: Sendable {
    private enum State: UInt8, Sendable {
        case size
        case sizeWhitespace
        case extensionNameStart
        case extensionName
        case extensionAfterName
        case extensionValueStart
        case extensionToken
        case extensionQuoted
        case extensionQuotedEscape
        case extensionAfterValue
        case sizeLF
        case data
        case dataCR
        case dataLF
        case trailers
        case done
    }

    private let limits: HTTPParserLimits
    private var state = State.size
    private var chunkSize: UInt64 = 0
    private var digits = 0
    private var lineLength = 0
    private var remaining = 0
    private var bodyLength = 0
    private var trailerScanner: HTTPHeadScanner
    private var trailerScanned = 0
    /// Whether any byte of the body has arrived: a chunk-size line is body
    /// too, so from then on the client is sending and needs no `100 Continue`.
    private(set) var hasReceivedBytes = false

    /// False for a caller that only follows the framing (``HTTPUpgradeBoundary``):
    /// chunk data is skipped, not appended.
    private let keepsData: Bool

    init(limits: HTTPParserLimits, keepsData: Bool = true) {
        self.limits = limits
        self.keepsData = keepsData
        self.trailerScanner = HTTPHeadScanner(section: .trailers, limits: limits)
    }

    /// Decodes from the start of `region`, appending chunk data to `body`.
    ///
    /// Returns how many bytes of `region` were consumed (the caller drops them; a partial
    /// trailer section is left unconsumed so it can be rescanned from its start) and whether
    /// the body is complete.
    mutating func decode(
        _ region: UnsafeRawBufferPointer,
        into body: inout [UInt8]
    ) throws(HTTPRefusal) -> (consumed: Int, finished: Bool) {
        var index = 0
        let count = region.count
        if count > 0 { hasReceivedBytes = true }
        while index < count {
            switch state {
            case .data:
                let take = min(remaining, count - index)
                if keepsData {
                    body.append(contentsOf: HTTPSyntax.bytes(UnsafeRawBufferPointer(rebasing: region[index..<(index + take)])))
                }
                index += take
                remaining -= take
                if remaining == 0 { state = .dataCR }
                continue
            case .trailers:
                // Scanned from its start each time: a partial trailer section is not consumed.
                let trailers = UnsafeRawBufferPointer(rebasing: region[index...])
                while true {
                    switch try trailerScanner.next(in: trailers, offset: &trailerScanned) {
                    case .needMore:
                        return (index, false)
                    case .end:
                        state = .done
                        return (index + trailerScanned, true)
                    case .fieldLine, .requestLine:
                        continue
                    }
                }
            case .done:
                return (index, true)
            default:
                break
            }

            let byte = region[index]
            index += 1
            switch state {
            case .dataCR:
                guard byte == HTTPSyntax.cr else { throw .badRequest("missing CRLF after chunk data") }
                state = .dataLF
                continue
            case .dataLF:
                guard byte == HTTPSyntax.lf else { throw .badRequest("missing CRLF after chunk data") }
                state = .size
                continue
            default:
                break
            }

            // Everything below is part of a chunk-size line.
            lineLength += 1
            guard lineLength <= HTTPGrammarLimits.maxChunkLineLength else { throw .badRequest("chunk line too long") }
            switch state {
            case .size:
                if let value = HTTPSyntax.hexValue(byte) {
                    digits += 1
                    guard digits <= HTTPGrammarLimits.maxChunkSizeDigits else { throw .badRequest("chunk size too long") }
                    chunkSize = chunkSize << 4 | UInt64(value)
                    continue
                }
                guard digits > 0 else { throw Self.error(byte, "invalid chunk size") }
                // RFC 9110 §15.5.14: refuse as soon as the announced size passes the limit.
                guard chunkSize <= UInt64(max(0, limits.maxBodySize - bodyLength)) else { throw .contentTooLarge }
                switch byte {
                case HTTPSyntax.cr: state = .sizeLF
                case HTTPSyntax.semicolon: state = .extensionNameStart
                case HTTPSyntax.sp, HTTPSyntax.htab: state = .sizeWhitespace
                default: throw Self.error(byte, "invalid chunk size")
                }
            case .sizeWhitespace:
                switch byte {
                case HTTPSyntax.sp, HTTPSyntax.htab: break
                case HTTPSyntax.semicolon: state = .extensionNameStart
                default: throw Self.error(byte, "invalid chunk size")
                }
            case .extensionNameStart:
                if HTTPSyntax.isTokenChar(byte) {
                    state = .extensionName
                } else if !HTTPSyntax.isWhitespace(byte) {
                    throw Self.error(byte, "invalid chunk extension")
                }
            case .extensionName, .extensionAfterName:
                if HTTPSyntax.isTokenChar(byte) && state == .extensionName {
                    break
                } else if HTTPSyntax.isWhitespace(byte) {
                    state = .extensionAfterName
                } else if byte == HTTPSyntax.equals {
                    state = .extensionValueStart
                } else {
                    try endOfExtension(byte)
                }
            case .extensionValueStart:
                if byte == HTTPSyntax.dquote {
                    state = .extensionQuoted
                } else if HTTPSyntax.isTokenChar(byte) {
                    state = .extensionToken
                } else if !HTTPSyntax.isWhitespace(byte) {
                    throw Self.error(byte, "invalid chunk extension")
                }
            case .extensionToken, .extensionAfterValue:
                if HTTPSyntax.isTokenChar(byte) && state == .extensionToken {
                    break
                } else if HTTPSyntax.isWhitespace(byte) {
                    state = .extensionAfterValue
                } else {
                    try endOfExtension(byte)
                }
            case .extensionQuoted:
                // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4)
                if byte == HTTPSyntax.dquote {
                    state = .extensionAfterValue
                } else if byte == HTTPSyntax.backslash {
                    state = .extensionQuotedEscape
                } else if !(HTTPSyntax.isFieldVisible(byte) || HTTPSyntax.isWhitespace(byte)) {
                    throw Self.error(byte, "invalid chunk extension")
                }
            case .extensionQuotedEscape:
                // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                guard HTTPSyntax.isFieldVisible(byte) || HTTPSyntax.isWhitespace(byte) else {
                    throw Self.error(byte, "invalid chunk extension")
                }
                state = .extensionQuoted
            case .sizeLF:
                guard byte == HTTPSyntax.lf else { throw .badRequest("bare CR") }
                lineLength = 0
                if chunkSize == 0 {
                    // last-chunk: the trailer section starts at `index`.
                    state = .trailers
                    continue
                }
                remaining = Int(chunkSize)
                bodyLength += remaining
                chunkSize = 0
                digits = 0
                state = .data
            case .data, .dataCR, .dataLF, .trailers, .done:
                break
            }
        }
        return (index, state == .done)
    }

    /// A byte that may end an extension: `;` starts the next one, CR ends the line.
    private mutating func endOfExtension(_ byte: UInt8) throws(HTTPRefusal) {
        switch byte {
        case HTTPSyntax.semicolon: state = .extensionNameStart
        case HTTPSyntax.cr: state = .sizeLF
        default: throw Self.error(byte, "invalid chunk extension")
        }
    }

    private static func error(_ byte: UInt8, _ reason: String) -> HTTPRefusal {
        byte == HTTPSyntax.lf ? .badRequest("bare LF") : .badRequest(reason)
    }
}
