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
    @usableFromInline
    init(uncheckedRawValue rawValue: UInt8) {
        assert(rawValue <= 0x0F)
        self.rawValue = rawValue
    }

    // Computed and inlinable rather than `static let`: another module reads
    // a stored constant through an accessor call, on every message.

    /// 0x0: a later fragment of a fragmented message (RFC 6455 §5.4).
    @inlinable public static var continuation: WebSocketOpcode { WebSocketOpcode(uncheckedRawValue: 0x0) }
    /// 0x1: a text message, UTF-8 (RFC 6455 §5.6).
    @inlinable public static var text: WebSocketOpcode { WebSocketOpcode(uncheckedRawValue: 0x1) }
    /// 0x2: a binary message (RFC 6455 §5.6).
    @inlinable public static var binary: WebSocketOpcode { WebSocketOpcode(uncheckedRawValue: 0x2) }
    /// 0x8: close (RFC 6455 §5.5.1).
    @inlinable public static var close: WebSocketOpcode { WebSocketOpcode(uncheckedRawValue: 0x8) }
    /// 0x9: ping (RFC 6455 §5.5.2).
    @inlinable public static var ping: WebSocketOpcode { WebSocketOpcode(uncheckedRawValue: 0x9) }
    /// 0xA: pong (RFC 6455 §5.5.3).
    @inlinable public static var pong: WebSocketOpcode { WebSocketOpcode(uncheckedRawValue: 0xA) }

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
