public import HTTPTypes

/// What a WebSocket route accepts: its subprotocols in order of preference,
/// permessage-deflate or not, and which origins may connect.
public struct WebSocketAcceptPolicy: Sendable {
    public var subprotocols: [String]
    /// nil: compression is off, offers are ignored.
    public var deflate: PerMessageDeflatePolicy?
    /// Decides the `Origin` (nil when absent) of a request.
    public var allowsOrigin: @Sendable (_ origin: String?, _ request: HTTPRequest) -> Bool

    public init(
        subprotocols: [String] = [], deflate: PerMessageDeflatePolicy? = nil,
        allowsOrigin: @escaping @Sendable (_ origin: String?, _ request: HTTPRequest) -> Bool
    ) {
        self.subprotocols = subprotocols
        self.deflate = deflate
        self.allowsOrigin = allowsOrigin
    }
}

/// An upgrade request the route accepts: the 101 to send and what was
/// agreed on.
public struct WebSocketAccept: Sendable {
    /// The client's `Sec-WebSocket-Key`.
    public var key: String
    public var subprotocol: String?
    public var deflate: PerMessageDeflateAgreement?

    /// 101 Switching Protocols with `Sec-WebSocket-Accept` and the
    /// agreed subprotocol and extension (for a host that writes it).
    public var response: HTTPResponse {
        HTTPResponse(
            status: .switchingProtocols,
            headerFields: WebSocketHandshake.responseFields(
                forKey: key, subprotocol: subprotocol, extensions: deflate?.responseValue))
    }

    /// Appends the bytes of ``response`` to `buffer`, as
    /// `serializeResponseHead(response, into:)` would, without building the
    /// fields first: the path every upgrade takes.
    public func appendResponseHead(to buffer: inout [UInt8]) {
        Self.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ", to: &buffer)
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: WebSocketHandshake.acceptValueLength))
        _ = buffer.withUnsafeMutableBytes { bytes in
            WebSocketHandshake.writeAcceptValue(
                forKey: key, into: UnsafeMutableRawBufferPointer(rebasing: bytes[start...]))
        }
        if let subprotocol {
            Self.append("\r\nSec-WebSocket-Protocol: ", to: &buffer)
            buffer.append(contentsOf: subprotocol.utf8)
        }
        if let extensions = deflate?.responseValue {
            Self.append("\r\nSec-WebSocket-Extensions: ", to: &buffer)
            buffer.append(contentsOf: extensions.utf8)
        }
        Self.append("\r\n\r\n", to: &buffer)
    }

    private static func append(_ text: StaticString, to buffer: inout [UInt8]) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }
}

extension WebSocketHandshake {
    /// The server's whole answer to an upgrade request, as a value (the
    /// shape of python-websockets' `accept`/`reject`): validates it (RFC 6455
    /// §4.2.1, see `validate`), checks its origin (403), picks the first of
    /// the route's subprotocols the client offers (none when nothing
    /// matches: RFC 6455 §4.1 leaves the client to decide) and the first
    /// acceptable permessage-deflate offer (RFC 7692 §5), and builds the 101.
    ///
    /// What the application decides afterwards (authentication) refuses
    /// with its own response.
    public static func accept(_ request: HTTPRequest, isHTTP11: Bool, policy: WebSocketAcceptPolicy) -> Result<WebSocketAccept, HTTPRefusal> {
        let offer: WebSocketHandshakeRequest
        do {
            offer = try validate(request, isHTTP11: isHTTP11)
        } catch {
            return .failure(error)
        }
        guard policy.allowsOrigin(offer.origin, request) else {
            return .failure(HTTPRefusal(status: .forbidden, reason: "origin not allowed"))
        }
        let subprotocol = policy.subprotocols.first { offer.subprotocols.contains($0) }
        let agreement = policy.deflate.flatMap { PerMessageDeflateNegotiation.negotiate(offer.extensions, policy: $0) }
        return .success(WebSocketAccept(key: offer.key, subprotocol: subprotocol, deflate: agreement))
    }
}
