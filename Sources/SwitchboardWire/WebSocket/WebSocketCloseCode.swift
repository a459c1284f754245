/// A close frame's status code (RFC 6455 §7.4).
///
/// A struct over the raw value, so that every code a peer can send is representable: the
/// registered ones have static members, anything else (for example an application's
/// 4000–4999 code) is ``unknown(_:)``. Whether a code may be sent is ``isSendable``.
public struct WebSocketCloseCode: Sendable, Hashable, CustomStringConvertible {
    /// The 16-bit code as it appears in the first two bytes of a close payload.
    public let rawValue: UInt16

    /// Wraps any code; use ``isSendable`` to check it is allowed on the wire.
    public init(_ rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// A code without a static member here, such as an application's code; the same as
    /// ``init(_:)``, spelled like the named codes: `.unknown(4000)`.
    public static func unknown(_ rawValue: UInt16) -> WebSocketCloseCode {
        WebSocketCloseCode(rawValue)
    }

    /// 1000: the purpose of the connection has been fulfilled (RFC 6455 §7.4.1).
    public static let normalClosure = WebSocketCloseCode(1000)
    /// 1001: the endpoint is going away, e.g. a server shutting down (RFC 6455 §7.4.1).
    public static let goingAway = WebSocketCloseCode(1001)
    /// 1002: the peer broke the protocol (RFC 6455 §7.4.1).
    public static let protocolError = WebSocketCloseCode(1002)
    /// 1003: a data type the endpoint cannot accept (RFC 6455 §7.4.1).
    public static let unsupportedData = WebSocketCloseCode(1003)
    /// 1005: no status code was present. Reported locally, never sent (RFC 6455 §7.4.1).
    public static let noStatusReceived = WebSocketCloseCode(1005)
    /// 1006: the connection closed without a close frame. Reported locally, never sent
    /// (RFC 6455 §7.4.1).
    public static let abnormalClosure = WebSocketCloseCode(1006)
    /// 1007: message data not consistent with its type, e.g. invalid UTF-8 in a text message
    /// (RFC 6455 §7.4.1).
    public static let invalidPayload = WebSocketCloseCode(1007)
    /// 1008: a message violates the endpoint's policy (RFC 6455 §7.4.1).
    public static let policyViolation = WebSocketCloseCode(1008)
    /// 1009: a message is too big to process (RFC 6455 §7.4.1).
    public static let messageTooBig = WebSocketCloseCode(1009)
    /// 1010: the client expected the server to negotiate an extension (RFC 6455 §7.4.1).
    public static let mandatoryExtension = WebSocketCloseCode(1010)
    /// 1011: the server met an unexpected condition (RFC 6455 §7.4.1).
    public static let internalError = WebSocketCloseCode(1011)
    /// 1012: the service is restarting (IANA WebSocket Close Code Number Registry).
    public static let serviceRestart = WebSocketCloseCode(1012)
    /// 1013: try again later, e.g. the server is overloaded (IANA registry).
    public static let tryAgainLater = WebSocketCloseCode(1013)
    /// 1014: a gateway or proxy got an invalid response upstream (IANA registry).
    public static let badGateway = WebSocketCloseCode(1014)
    /// 1015: the TLS handshake failed. Reported locally, never sent (RFC 6455 §7.4.1).
    public static let tlsHandshakeFailure = WebSocketCloseCode(1015)

    /// Whether this code may appear in a close frame (RFC 6455 §7.4, §7.4.2).
    ///
    /// Yes for 1000–1003 and 1007–1014 (defined by RFC 6455 or registered with IANA) and
    /// 3000–4999 (libraries, frameworks and applications). No for 1004 (reserved), 1005, 1006
    /// and 1015 (local reports only), 0–999 (unused), 1016–2999 (reserved for future RFCs and
    /// extensions; not sendable until registered) and 5000 and above (undefined).
    public var isSendable: Bool {
        switch rawValue {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    public var description: String {
        let name: String? =
            switch rawValue {
            case 1000: "normal closure"
            case 1001: "going away"
            case 1002: "protocol error"
            case 1003: "unsupported data"
            case 1005: "no status received"
            case 1006: "abnormal closure"
            case 1007: "invalid payload"
            case 1008: "policy violation"
            case 1009: "message too big"
            case 1010: "mandatory extension"
            case 1011: "internal error"
            case 1012: "service restart"
            case 1013: "try again later"
            case 1014: "bad gateway"
            case 1015: "TLS handshake failure"
            default: nil
            }
        return name.map { "\(rawValue) (\($0))" } ?? "\(rawValue)"
    }
}
