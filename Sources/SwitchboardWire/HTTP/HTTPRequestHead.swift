public import HTTPTypes

/// A parsed request head: the request, its version and the connection semantics it asks for.
public struct HTTPRequestHead: Sendable {
    /// Method, target and header fields.
    ///
    /// - `path` is the request-target as sent for origin-form (`/a?b`), `*` for asterisk-form,
    ///   the path and query of an absolute-form target (`/` if empty), and nil for CONNECT.
    /// - `authority` comes from the Host field, or from the target in absolute-form and
    ///   authority-form (RFC 9112 §3.2.2, §3.3); nil when Host is absent or empty.
    /// - `scheme` is nil except in absolute-form, where it is the target's lowercased scheme.
    /// - `headerFields` holds every field line as received, in order, except Host: as
    ///   `HTTPTypes` expects, Host is carried only as `authority`. Connection,
    ///   Content-Length and Transfer-Encoding stay, so the server can see how the body was framed.
    public var request: HTTPRequest
    /// HTTP/1.1 or HTTP/1.0.
    public var version: HTTPVersion
    /// Whether the connection may carry another request (RFC 9112 §9.3): for HTTP/1.1 unless
    /// Connection has the `close` option, for HTTP/1.0 only with `keep-alive` and no `close`.
    public var keepAlive: Bool
    /// Whether Connection has the `upgrade` option and an Upgrade field is present
    /// (RFC 9110 §7.8). Always false for HTTP/1.0, whose Upgrade field must be ignored.
    public var isUpgradeRequest: Bool

    public init(request: HTTPRequest, version: HTTPVersion, keepAlive: Bool, isUpgradeRequest: Bool) {
        self.request = request
        self.version = version
        self.keepAlive = keepAlive
        self.isUpgradeRequest = isUpgradeRequest
    }
}

/// What the request parser produces.
public enum HTTPParserEvent: Sendable {
    /// One complete request; `body` is empty when the request has none.
    case request(HTTPRequestHead, body: [UInt8])
}
