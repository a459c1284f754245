/// The 4-bit opcode of a WebSocket frame (RFC 6455 §5.2, §11.8).
///
/// A struct rather than an enum so that reserved opcodes can be represented (and rejected by
/// the session, or written by tests) and new ones registered without breaking switches.
public struct WebSocketOpcode: Sendable, Hashable, CustomStringConvertible {
    /// The opcode's value, 0x0–0xF.
    public let rawValue: UInt8

    /// The opcode with this value, or nil if it does not fit in four bits.
    public init?(rawValue: UInt8) {
        guard rawValue <= 0x0F else { return nil }
        self.rawValue = rawValue
    }

    /// Internal initialiser for values already masked to four bits.
    init(uncheckedRawValue rawValue: UInt8) {
        assert(rawValue <= 0x0F)
        self.rawValue = rawValue
    }

    /// 0x0: a later fragment of a fragmented message (RFC 6455 §5.4).
    public static let continuation = WebSocketOpcode(uncheckedRawValue: 0x0)
    /// 0x1: a text message, UTF-8 (RFC 6455 §5.6).
    public static let text = WebSocketOpcode(uncheckedRawValue: 0x1)
    /// 0x2: a binary message (RFC 6455 §5.6).
    public static let binary = WebSocketOpcode(uncheckedRawValue: 0x2)
    /// 0x8: close (RFC 6455 §5.5.1).
    public static let close = WebSocketOpcode(uncheckedRawValue: 0x8)
    /// 0x9: ping (RFC 6455 §5.5.2).
    public static let ping = WebSocketOpcode(uncheckedRawValue: 0x9)
    /// 0xA: pong (RFC 6455 §5.5.3).
    public static let pong = WebSocketOpcode(uncheckedRawValue: 0xA)

    /// Whether this is a control frame opcode: the most significant opcode bit is set
    /// (RFC 6455 §5.5). True for reserved control opcodes 0xB–0xF as well.
    public var isControl: Bool { rawValue & 0x08 != 0 }

    /// Whether RFC 6455 §5.2 defines this opcode (0x0–0x2, 0x8–0xA); the others are reserved.
    public var isDefined: Bool {
        switch rawValue {
        case 0x0, 0x1, 0x2, 0x8, 0x9, 0xA: true
        default: false
        }
    }

    public var description: String {
        switch rawValue {
        case 0x0: "continuation"
        case 0x1: "text"
        case 0x2: "binary"
        case 0x8: "close"
        case 0x9: "ping"
        case 0xA: "pong"
        default: "reserved(0x\(String(rawValue, radix: 16, uppercase: true)))"
        }
    }
}
