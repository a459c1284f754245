public import HTTPTypes

/// Why a request is refused, as the response to answer with: the HTTP
/// parser's errors (400, 413, 414, 431, 501, 505; after one the parser is
/// failed for good and the connection must close) and the WebSocket
/// handshake's (400, 403, 426).
///
/// The reason is fixed text chosen here, never bytes from the peer, so it is
/// safe to send back in a response body.
public struct HTTPRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// Short human text safe to send to the peer, e.g. "conflicting Content-Length".
    public var reason: String
    /// Fields the response must carry, e.g. `Sec-WebSocket-Version: 13` on
    /// a 426 (RFC 6455 §4.4).
    public var headerFields: HTTPFields

    public init(status: HTTPResponse.Status, reason: String, headerFields: HTTPFields = [:]) {
        self.status = status
        self.reason = reason
        self.headerFields = headerFields
    }

    public var description: String {
        "\(status.code) \(status.reasonPhrase): \(reason)"
    }

    /// 400 Bad Request (RFC 9110 §15.5.1): malformed syntax or framing.
    static func badRequest(_ reason: String) -> HTTPRefusal {
        HTTPRefusal(status: .badRequest, reason: reason)
    }

    /// 413 Content Too Large (RFC 9110 §15.5.14): body above ``HTTPParserLimits/maxBodySize``.
    static let contentTooLarge = HTTPRefusal(status: .contentTooLarge, reason: "request body too large")

    /// 414 URI Too Long (RFC 9110 §15.5.15).
    static let uriTooLong = HTTPRefusal(status: .uriTooLong, reason: "request-target too long")

    /// 431 Request Header Fields Too Large (RFC 6585 §5), for the head.
    static let headTooLarge = HTTPRefusal(status: .requestHeaderFieldsTooLarge, reason: "request head too large")

    /// 431 for a head (or trailer section) with too many field lines.
    static let tooManyFields = HTTPRefusal(status: .requestHeaderFieldsTooLarge, reason: "too many header fields")

    /// 431 for a trailer section above ``HTTPParserLimits/maxHeadSize``.
    static let trailersTooLarge = HTTPRefusal(
        status: .requestHeaderFieldsTooLarge,
        reason: "trailer section too large"
    )

    /// 501 Not Implemented (RFC 9112 §6.1): a transfer coding other than chunked.
    static let unsupportedTransferCoding = HTTPRefusal(
        status: .notImplemented,
        reason: "unsupported transfer coding"
    )

    /// 505 HTTP Version Not Supported (RFC 9110 §15.6.6).
    static let versionNotSupported = HTTPRefusal(
        status: .httpVersionNotSupported,
        reason: "HTTP version not supported"
    )
}
