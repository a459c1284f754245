public import HTTPTypes

/// Why a request could not be parsed, as the status to answer with and a short reason.
///
/// The reason is fixed text chosen by the parser, never bytes from the peer, so it is safe to
/// send back in a response body. After an error the connection must be closed: the parser is
/// failed for good and every later `nextEvent()` throws the same error.
public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 400, 413, 414, 431, 501 or 505.
    public var status: HTTPResponse.Status
    /// Short human text safe to send to the peer, e.g. "conflicting Content-Length".
    public var reason: String

    /// Creates an error from a status and a reason.
    public init(status: HTTPResponse.Status, reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String {
        "\(status.code) \(status.reasonPhrase): \(reason)"
    }

    /// 400 Bad Request (RFC 9110 §15.5.1): malformed syntax or framing.
    static func badRequest(_ reason: String) -> HTTPParseError {
        HTTPParseError(status: .badRequest, reason: reason)
    }

    /// 413 Content Too Large (RFC 9110 §15.5.14): body above ``HTTPParserLimits/maxBodySize``.
    static let contentTooLarge = HTTPParseError(status: .contentTooLarge, reason: "request body too large")

    /// 414 URI Too Long (RFC 9110 §15.5.15).
    static let uriTooLong = HTTPParseError(status: .uriTooLong, reason: "request-target too long")

    /// 431 Request Header Fields Too Large (RFC 6585 §5), for the head.
    static let headTooLarge = HTTPParseError(status: .requestHeaderFieldsTooLarge, reason: "request head too large")

    /// 431 for a head (or trailer section) with too many field lines.
    static let tooManyFields = HTTPParseError(status: .requestHeaderFieldsTooLarge, reason: "too many header fields")

    /// 431 for a trailer section above ``HTTPParserLimits/maxHeadSize``.
    static let trailersTooLarge = HTTPParseError(
        status: .requestHeaderFieldsTooLarge,
        reason: "trailer section too large"
    )

    /// 501 Not Implemented (RFC 9112 §6.1): a transfer coding other than chunked.
    static let unsupportedTransferCoding = HTTPParseError(
        status: .notImplemented,
        reason: "unsupported transfer coding"
    )

    /// 505 HTTP Version Not Supported (RFC 9110 §15.6.6).
    static let versionNotSupported = HTTPParseError(
        status: .httpVersionNotSupported,
        reason: "HTTP version not supported"
    )
}
