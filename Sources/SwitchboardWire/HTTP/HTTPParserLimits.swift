/// Size limits the request parser enforces before buffering more of a request.
///
/// Every limit answers with the status RFC 9110 assigns to it, so the server can reply
/// precisely and close the connection.
public struct HTTPParserLimits: Sendable, Hashable {
    /// The most bytes of a request head: request line plus all field lines, including every
    /// CRLF and the empty line that ends the head. Also bounds a chunked trailer section.
    ///
    /// Exceeding it answers 431 (RFC 6585 §5) as soon as the buffered, incomplete head is
    /// longer, without waiting for more data. 16 KiB is well above what browsers send (cookies
    /// included) and far below what would let one connection pin much memory.
    public var maxHeadSize: Int

    /// The most field lines in a head (and in a trailer section). Exceeding it answers 431.
    /// 100 leaves room for every real client while bounding the per-request field array.
    public var maxHeaderCount: Int

    /// The longest request-target (RFC 9112 §3.2). Exceeding it answers 414
    /// (RFC 9110 §15.5.15). 8 KiB matches what common servers and proxies accept
    /// (RFC 9112 §3 recommends supporting at least 8000 octets).
    public var maxRequestTargetLength: Int

    /// The largest request body, whether framed by Content-Length or chunked. Exceeding it
    /// answers 413 (RFC 9110 §15.5.14) as soon as Content-Length announces it or as soon as
    /// chunk sizes pass it. 1 MiB suits form posts and JSON; raise it for uploads.
    public var maxBodySize: Int

    /// The default for ``maxHeadSize``: 16 KiB.
    public static let defaultMaxHeadSize = 16 * 1024
    /// The default for ``maxHeaderCount``: 100 fields.
    public static let defaultMaxHeaderCount = 100
    /// The default for ``maxRequestTargetLength``: 8 KiB.
    public static let defaultMaxRequestTargetLength = 8 * 1024
    /// The default for ``maxBodySize``: 1 MiB.
    public static let defaultMaxBodySize = 1 << 20

    /// Creates limits; every parameter has a documented default.
    public init(
        maxHeadSize: Int = HTTPParserLimits.defaultMaxHeadSize,
        maxHeaderCount: Int = HTTPParserLimits.defaultMaxHeaderCount,
        maxRequestTargetLength: Int = HTTPParserLimits.defaultMaxRequestTargetLength,
        maxBodySize: Int = HTTPParserLimits.defaultMaxBodySize
    ) {
        self.maxHeadSize = maxHeadSize
        self.maxHeaderCount = maxHeaderCount
        self.maxRequestTargetLength = maxRequestTargetLength
        self.maxBodySize = maxBodySize
    }

    /// The defaults: 16 KiB head, 100 fields, 8 KiB target, 1 MiB body.
    public static let `default` = HTTPParserLimits()
}

/// Fixed bounds of the HTTP/1.1 grammar that are not worth configuring.
enum HTTPGrammarLimits {
    /// Empty lines ignored before a request line (RFC 9112 §2.2 asks servers to ignore "at
    /// least one"); more is treated as garbage and answers 400.
    static let maxLeadingEmptyLines = 4

    /// Most digits in a Content-Length: 18 decimal digits always fit in `Int64`, so the value
    /// never overflows (RFC 9112 §6.3 asks recipients to anticipate large numbers but reject
    /// overflow).
    static let maxContentLengthDigits = 18

    /// Most hex digits in a chunk-size: 16 fit in `UInt64` (RFC 9112 §7.1 asks recipients to
    /// guard against overflow).
    static let maxChunkSizeDigits = 16

    /// Longest chunk-size line including extensions and CRLF (RFC 9112 §7.1.1 lets a server
    /// limit extension length). Longer lines answer 400.
    static let maxChunkLineLength = 4 * 1024

    /// Most digits in a port of an authority (RFC 3986 §3.2.3 allows any; 65535 has five).
    static let maxPortDigits = 5

    /// `HTTPFields` traps at `UInt16.max` fields, so the field count is clamped below that
    /// whatever ``HTTPParserLimits/maxHeaderCount`` says.
    static let maxFieldsStorable = Int(UInt16.max) - 1
}
