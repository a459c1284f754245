/// How a request body is delimited (RFC 9112 §6.3).
enum HTTPBodyFraming: Sendable, Equatable {
    /// Neither Content-Length nor Transfer-Encoding, or Content-Length 0: no body.
    case none
    /// Exactly this many bytes follow the head.
    case length(Int)
    /// The chunked transfer coding (RFC 9112 §7.1).
    case chunked
}

/// Collects the Content-Length and Transfer-Encoding field lines of a head and decides the
/// framing with the strict rules that defeat request smuggling.
///
/// Deliberately stricter than RFC 9112 §6.3 in one place: a second Content-Length field line
/// is rejected even when it repeats the same value (the RFC allows merging identical values),
/// because intermediaries disagree about such lists and agreement is the whole point.
struct HTTPFramingFields: Sendable {
    private var contentLength: Int?
    private var hasTransferEncoding = false
    private var chunkedCount = 0
    private var lastCodingIsChunked = false
    private var hasOtherCoding = false

    /// Adds one Content-Length field value: `1*DIGIT` (RFC 9110 §8.6), no sign, no inner
    /// whitespace, no list, at most 18 digits so it cannot overflow.
    mutating func addContentLength(_ value: UnsafeRawBufferPointer) throws(HTTPRefusal) {
        guard contentLength == nil else { throw .badRequest("duplicate Content-Length") }
        guard !value.isEmpty, value.count <= HTTPGrammarLimits.maxContentLengthDigits else {
            throw .badRequest("invalid Content-Length")
        }
        var length = 0
        for byte in value {
            guard HTTPSyntax.isDigit(byte) else { throw .badRequest("invalid Content-Length") }
            length = length * 10 + Int(byte &- 0x30)
        }
        contentLength = length
    }

    /// Adds one Transfer-Encoding field value. The codings of all such fields form one list
    /// (RFC 9110 §5.3), so each element is judged in order as it arrives.
    mutating func addTransferEncoding(_ value: UnsafeRawBufferPointer) throws(HTTPRefusal) {
        hasTransferEncoding = true
        try HTTPSyntax.forEachListElement(value) { (element) throws(HTTPRefusal) in
            // transfer-coding = token *( OWS ";" OWS transfer-parameter ) (RFC 9110 §10.1.4)
            let nameEnd = element.firstIndex(of: HTTPSyntax.semicolon) ?? element.count
            let name = HTTPSyntax.trimmingWhitespace(UnsafeRawBufferPointer(rebasing: element[..<nameEnd]))
            guard HTTPSyntax.isToken(name) else { throw .badRequest("invalid Transfer-Encoding") }
            if HTTPSyntax.equalsCaseInsensitive(name, "chunked") {
                // chunked takes no parameters (RFC 9112 §7.1).
                guard nameEnd == element.count else { throw .badRequest("invalid Transfer-Encoding") }
                chunkedCount += 1
                lastCodingIsChunked = true
            } else {
                hasOtherCoding = true
                lastCodingIsChunked = false
            }
        }
    }

    /// Decides the framing once the head is complete.
    ///
    /// - Transfer-Encoding in HTTP/1.0, or together with Content-Length: 400 (RFC 9112 §6.1,
    ///   §6.3 item 3: treated as faulty framing rather than guessing which one wins).
    /// - chunked more than once, or not last: 400 (RFC 9112 §6.3 item 4, §7).
    /// - any other coding before chunked: 501 (RFC 9112 §6.1).
    /// - Content-Length above the body limit: 413 before any body byte is read.
    func decide(version: HTTPVersion, limits: HTTPParserLimits) throws(HTTPRefusal) -> HTTPBodyFraming {
        if hasTransferEncoding {
            if version == .http1_0 { throw .badRequest("Transfer-Encoding in HTTP/1.0") }
            if contentLength != nil { throw .badRequest("Content-Length with Transfer-Encoding") }
            if chunkedCount > 1 { throw .badRequest("chunked applied more than once") }
            if !lastCodingIsChunked { throw .badRequest("final transfer coding is not chunked") }
            if hasOtherCoding { throw .unsupportedTransferCoding }
            return .chunked
        }
        guard let contentLength else { return .none }
        guard contentLength <= limits.maxBodySize else { throw .contentTooLarge }
        return contentLength == 0 ? .none : .length(contentLength)
    }
}
