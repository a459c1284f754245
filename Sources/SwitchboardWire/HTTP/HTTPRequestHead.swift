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
    public var request: HTTPRequest {
        get { parsed?.request ?? built.unsafelyUnwrapped.request }
        set {
            built = BuiltRequest(newValue)
            parsed = nil
        }
    }
    /// HTTP/1.1 or HTTP/1.0.
    public var version: HTTPVersion
    /// Whether the connection may carry another request (RFC 9112 §9.3): for HTTP/1.1 unless
    /// Connection has the `close` option, for HTTP/1.0 only with `keep-alive` and no `close`.
    public var keepAlive: Bool
    /// Whether Connection has the `upgrade` option and an Upgrade field is present
    /// (RFC 9110 §7.8). Always false for HTTP/1.0, whose Upgrade field must be ignored.
    public var isUpgradeRequest: Bool

    /// What the parser produced, or (`built`) a request set from outside:
    /// exactly one is set. A parsed head builds its `HTTPRequest` only when
    /// ``request`` is read (once): routing and the WebSocket handshake read
    /// what they need from the bytes. Two optionals, not an enum: reading
    /// the parsed head's method or path then copies (retains) nothing. Both
    /// references: the head stays three words, which the parser's states
    /// and events copy by value (`HTTPRequest` inline made it ~100 bytes).
    private var parsed: ParsedRequestHead?
    private var built: BuiltRequest?

    public init(request: HTTPRequest, version: HTTPVersion, keepAlive: Bool, isUpgradeRequest: Bool) {
        self.parsed = nil
        self.built = BuiltRequest(request)
        self.version = version
        self.keepAlive = keepAlive
        self.isUpgradeRequest = isUpgradeRequest
    }

    init(parsed: ParsedRequestHead, version: HTTPVersion, keepAlive: Bool, isUpgradeRequest: Bool) {
        self.parsed = parsed
        self.built = nil
        self.version = version
        self.keepAlive = keepAlive
        self.isUpgradeRequest = isUpgradeRequest
    }

    /// ``request``'s method, without building it.
    package var method: HTTPRequest.Method {
        parsed?.method ?? built.unsafelyUnwrapped.request.method
    }

    /// ``request``'s path, without building it.
    package var path: String? {
        if let parsed { return parsed.target.path }
        return built.unsafelyUnwrapped.request.path
    }

    /// ``request``'s authority, without building it.
    package var authority: String? {
        if let parsed { return parsed.authority }
        return built.unsafelyUnwrapped.request.authority
    }

    /// Calls `body` with each header field's name and value bytes, in order
    /// (Host excluded, as in ``request``), without building the request. A
    /// parsed name is as sent; a built one is HTTPTypes' canonical (lowercase)
    /// form: compare names ignoring case.
    package func forEachField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        if let parsed {
            parsed.forEachField(body)
        } else if let built {
            for field in built.request.headerFields {
                var name = field.name.canonicalName
                name.withUTF8 { name in
                    field.withUnsafeBytesOfValue { value in body(UnsafeRawBufferPointer(name), UnsafeRawBufferPointer(value)) }
                }
            }
        }
    }
}

/// A request set from outside (`HTTPRequestHead.init(request:...)`), boxed.
private final class BuiltRequest: Sendable {
    let request: HTTPRequest
    init(_ request: HTTPRequest) { self.request = request }
}

/// What the request parser produces.
public enum HTTPParserEvent: Sendable {
    /// One complete request; `body` is empty when the request has none.
    case request(HTTPRequestHead, body: [UInt8])
}
