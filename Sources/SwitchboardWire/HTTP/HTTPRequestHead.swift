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
        get {
            switch storage {
            case .parsed(let parsed): parsed.request
            case .built(let request): request
            }
        }
        set { storage = .built(newValue) }
    }
    /// HTTP/1.1 or HTTP/1.0.
    public var version: HTTPVersion
    /// Whether the connection may carry another request (RFC 9112 §9.3): for HTTP/1.1 unless
    /// Connection has the `close` option, for HTTP/1.0 only with `keep-alive` and no `close`.
    public var keepAlive: Bool
    /// Whether Connection has the `upgrade` option and an Upgrade field is present
    /// (RFC 9110 §7.8). Always false for HTTP/1.0, whose Upgrade field must be ignored.
    public var isUpgradeRequest: Bool

    /// What the parser produced, or a request set from outside. A parsed head
    /// builds its `HTTPRequest` only when ``request`` is read (once): routing
    /// and the WebSocket handshake read what they need from the bytes.
    private enum Storage: Sendable {
        case parsed(ParsedRequestHead)
        case built(HTTPRequest)
    }
    private var storage: Storage

    public init(request: HTTPRequest, version: HTTPVersion, keepAlive: Bool, isUpgradeRequest: Bool) {
        self.storage = .built(request)
        self.version = version
        self.keepAlive = keepAlive
        self.isUpgradeRequest = isUpgradeRequest
    }

    init(parsed: ParsedRequestHead, version: HTTPVersion, keepAlive: Bool, isUpgradeRequest: Bool) {
        self.storage = .parsed(parsed)
        self.version = version
        self.keepAlive = keepAlive
        self.isUpgradeRequest = isUpgradeRequest
    }

    /// ``request``'s method, without building it.
    package var method: HTTPRequest.Method {
        switch storage {
        case .parsed(let parsed): parsed.method
        case .built(let request): request.method
        }
    }

    /// ``request``'s path, without building it.
    package var path: String? {
        switch storage {
        case .parsed(let parsed): parsed.target.path
        case .built(let request): request.path
        }
    }

    /// ``request``'s authority, without building it.
    package var authority: String? {
        switch storage {
        case .parsed(let parsed): parsed.authority
        case .built(let request): request.authority
        }
    }

    /// Calls `body` with each header field's name and value bytes, in order
    /// (Host excluded, as in ``request``), without building the request. A
    /// parsed name is as sent; a built one is HTTPTypes' canonical (lowercase)
    /// form: compare names ignoring case.
    package func forEachField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        switch storage {
        case .parsed(let parsed):
            parsed.forEachField(body)
        case .built(let request):
            for field in request.headerFields {
                var name = field.name.canonicalName
                name.withUTF8 { name in
                    field.withUnsafeBytesOfValue { value in body(UnsafeRawBufferPointer(name), UnsafeRawBufferPointer(value)) }
                }
            }
        }
    }
}

/// What the request parser produces.
public enum HTTPParserEvent: Sendable {
    /// One complete request; `body` is empty when the request has none.
    case request(HTTPRequestHead, body: [UInt8])
}
