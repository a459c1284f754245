public import HTTPTypes
import SwitchboardWire

/// Options of one WebSocket route. Every default is safe for a public
/// server; each field says why it has the value it has.
public struct WebSocketConfiguration: Sendable {
    /// Which `Origin` values may open a connection. Default `.sameOrigin`:
    /// a page on another site cannot make a visitor's browser connect with
    /// the visitor's cookies (cross-site WebSocket hijacking). Refusal: 403.
    public var origins: OriginPolicy
    /// Subprotocols this route speaks, in order of preference. The first
    /// of these that the client offers is chosen; when none is offered or
    /// none matches, the connection opens without one (the client decides
    /// whether that is acceptable, RFC 6455 §4.1). Default: none.
    public var subprotocols: [String]
    /// Largest message accepted, after reassembly of fragments. Default
    /// 1 MiB. Larger: closed with 1009.
    public var maxMessageSize: Int
    /// Interval between the server's pings; `nil` turns heartbeats off. Default 30 s: below the idle timeouts of common proxies and
    /// load balancers (60 s), so they never see a silent connection.
    public var pingInterval: Duration?
    /// How long after a ping the peer may stay silent before the
    /// connection is considered dead and closed (1006 for the handler).
    /// Any frame from the peer counts as a sign of life. Default 20 s.
    public var pongTimeout: Duration
    /// Close a connection that has received no message for this long
    /// (1001 "idle"). Default `nil`: subscribers are often silent by
    /// design, and heartbeats already catch dead peers.
    public var idleTimeout: Duration?
    /// Bytes a connection may have queued for sending before
    /// `slowConsumerPolicy` applies. Default 1 MiB: a slow subscriber costs
    /// at most this much memory, and a healthy one never reaches it. While
    /// more than half of it is queued the connection is not read from (a
    /// peer that sends without reading what it is sent is slowed down by
    /// TCP flow control); reading resumes once the queue has drained.
    public var maxQueuedBytes: Int
    /// What happens to a connection whose queue is over `maxQueuedBytes`.
    public var slowConsumerPolicy: SlowConsumerPolicy
    /// How long queued bytes may sit without the peer reading any of
    /// them before the connection is dropped. Default 10 s.
    public var writeTimeout: Duration
    /// After sending a close frame, how long to wait for the peer's before
    /// closing the TCP connection anyway. Default 5 s.
    public var closeTimeout: Duration
    /// permessage-deflate, accepted when a client offers it. Default `nil`
    /// (off): see `WebSocketCompression` for why, and for its memory.
    public var compression: WebSocketCompression?

    public init(
        origins: OriginPolicy = .sameOrigin,
        subprotocols: [String] = [],
        maxMessageSize: Int = 1 << 20,
        pingInterval: Duration? = .seconds(30),
        pongTimeout: Duration = .seconds(20),
        idleTimeout: Duration? = nil,
        maxQueuedBytes: Int = 1 << 20,
        slowConsumerPolicy: SlowConsumerPolicy = .close,
        writeTimeout: Duration = .seconds(10),
        closeTimeout: Duration = .seconds(5),
        compression: WebSocketCompression? = nil
    ) {
        self.origins = origins
        self.subprotocols = subprotocols
        self.maxMessageSize = maxMessageSize
        self.pingInterval = pingInterval
        self.pongTimeout = pongTimeout
        self.idleTimeout = idleTimeout
        self.maxQueuedBytes = maxQueuedBytes
        self.slowConsumerPolicy = slowConsumerPolicy
        self.writeTimeout = writeTimeout
        self.closeTimeout = closeTimeout
        self.compression = compression
    }
}

/// What to do with a connection that cannot keep up with what is sent to it.
public struct SlowConsumerPolicy: Sendable, Hashable {
    enum Kind: Hashable { case close, drop }
    let kind: Kind

    /// Close it with 1008 (policy violation) after what is already queued:
    /// the client learns why, and can reconnect and catch up. The default,
    /// because nothing is lost silently.
    public static let close = SlowConsumerPolicy(kind: .close)
    /// Drop the messages that do not fit and count them
    /// (`WebSocket.droppedMessageCount`); the connection stays open. For
    /// feeds where only the latest value matters (tickers).
    public static let drop = SlowConsumerPolicy(kind: .drop)
}

/// Which `Origin` header values may open a WebSocket.
public struct OriginPolicy: Sendable {
    /// What the check reads. The built-in policies need only the request's
    /// authority, which the upgrade reads without building `HTTPRequest`.
    private enum Check: Sendable {
        case authority(@Sendable (_ origin: String?, _ authority: String?) -> Bool)
        case request(@Sendable (_ origin: String?, _ request: HTTPRequest) -> Bool)
    }
    private let check: Check

    /// Whether `origin` may open a WebSocket with `request`.
    func allows(_ origin: String?, _ request: HTTPRequest) -> Bool {
        switch check {
        case .authority(let allows): allows(origin, request.authority)
        case .request(let allows): allows(origin, request)
        }
    }

    func acceptPolicy(subprotocols: [String], deflate: PerMessageDeflatePolicy?) -> WebSocketAcceptPolicy {
        switch check {
        case .authority(let allows):
            WebSocketAcceptPolicy(subprotocols: subprotocols, deflate: deflate, allowsOriginWithAuthority: allows)
        case .request(let allows):
            WebSocketAcceptPolicy(subprotocols: subprotocols, deflate: deflate, allowsOrigin: allows)
        }
    }

    /// The origin's host and port must equal the request's `Host`. A
    /// request without `Origin` (not from a browser) is allowed: only
    /// browsers attach cookies cross-site, and they always send `Origin`.
    public static let sameOrigin = OriginPolicy(check: .authority(isSameOrigin))

    private static func isSameOrigin(_ origin: String?, authority: String?) -> Bool {
        guard let origin else { return true }
        return originAuthority(origin)?.lowercased() == authority?.lowercased()
    }

    /// Any origin, or none.
    public static let any = OriginPolicy(check: .authority { _, _ in true })

    /// Same origin, or one of these exact origins (`"https://example.com"`,
    /// compared case-insensitively).
    public static func allowList(_ origins: [String]) -> OriginPolicy {
        let allowed = Set(origins.map { $0.lowercased() })
        return OriginPolicy(check: .authority { origin, authority in
            isSameOrigin(origin, authority: authority) || origin.map { allowed.contains($0.lowercased()) } == true
        })
    }

    /// Decides with `allows(origin, request)`.
    public static func custom(_ allows: @escaping @Sendable (_ origin: String?, _ request: HTTPRequest) -> Bool) -> OriginPolicy {
        OriginPolicy(check: .request(allows))
    }

    /// `host[:port]` of an origin `scheme://host[:port]`, or nil for
    /// anything else (`null`, a path, no scheme).
    static func originAuthority(_ origin: String) -> Substring? {
        guard let schemeEnd = origin.range(of: "://") else { return nil }
        let rest = origin[schemeEnd.upperBound...]
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@") else { return nil }
        return rest
    }
}
