/// Every way a peer can break RFC 6455, each with the close code it earns.
///
/// This is the one place protocol errors become close codes (RFC 6455 §7.4.1): 1002 for
/// framing, 1007 for invalid UTF-8, 1009 for size. The reasons are fixed text, safe to put in
/// the close frame and logs; no peer data reaches them.
struct WebSocketProtocolViolation: Error, Sendable, Hashable {
    private enum Kind: Sendable, Hashable {
        case reservedBits
        case compressedControlFrame
        case compressedContinuation
        case unknownOpcode
        case unmaskedFrame
        case fragmentedControlFrame
        case controlFrameTooLong
        case unexpectedContinuation
        case interruptedMessage
        case invalidPayloadLength
        case messageTooBig
        case invalidUTF8
        case invalidClosePayloadLength
        case invalidCloseCode
        case invalidCloseReason
    }

    private let kind: Kind

    /// RFC 6455 §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for
    /// non-zero values".
    static let reservedBits = Self(kind: .reservedBits)
    /// RFC 7692 §6.1: RSV1 must not be set on control frames.
    static let compressedControlFrame = Self(kind: .compressedControlFrame)
    /// RFC 7692 §6.1: RSV1 marks the first frame of a message only, never a continuation.
    static let compressedContinuation = Self(kind: .compressedContinuation)
    /// RFC 6455 §5.2: 0x3–0x7 and 0xB–0xF are reserved; "If an unknown opcode is received,
    /// the receiving endpoint MUST _Fail the WebSocket Connection_".
    static let unknownOpcode = Self(kind: .unknownOpcode)
    /// RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is not
    /// masked" (with 1002, §7.4.1).
    static let unmaskedFrame = Self(kind: .unmaskedFrame)
    /// RFC 6455 §5.5: "Control frames themselves MUST NOT be fragmented."
    static let fragmentedControlFrame = Self(kind: .fragmentedControlFrame)
    /// RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    static let controlFrameTooLong = Self(kind: .controlFrameTooLong)
    /// RFC 6455 §5.4: a continuation frame without a message in progress.
    static let unexpectedContinuation = Self(kind: .unexpectedContinuation)
    /// RFC 6455 §5.4: "The fragments of one message MUST NOT be interleaved between the
    /// fragments of another message": a text or binary frame while a message is in progress.
    static let interruptedMessage = Self(kind: .interruptedMessage)
    /// RFC 6455 §5.2: "the most significant bit MUST be 0" in a 64-bit length.
    static let invalidPayloadLength = Self(kind: .invalidPayloadLength)
    /// RFC 6455 §7.4.1, §10.4: a message above ``WebSocketWireConfiguration/maxMessageSize``.
    static let messageTooBig = Self(kind: .messageTooBig)
    /// RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that
    /// the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the
    /// WebSocket Connection_" (with 1007, §7.4.1).
    static let invalidUTF8 = Self(kind: .invalidUTF8)
    /// RFC 6455 §5.5.1: a close body, when present, starts with a 2-byte code, so 1 byte is
    /// malformed.
    static let invalidClosePayloadLength = Self(kind: .invalidClosePayloadLength)
    /// RFC 6455 §7.4: a close code that must not be sent (1005, 1006, 1015, unassigned ranges).
    static let invalidCloseCode = Self(kind: .invalidCloseCode)
    /// RFC 6455 §5.5.1: the close reason is UTF-8; §8.1 makes invalid text a 1007.
    static let invalidCloseReason = Self(kind: .invalidCloseReason)

    /// The code to close with.
    var closeCode: WebSocketCloseCode {
        switch kind {
        case .messageTooBig: .messageTooBig
        case .invalidUTF8, .invalidCloseReason: .invalidPayload
        default: .protocolError
        }
    }

    /// Short fixed text for the close frame and the ``WebSocketEvent/failed(_:reason:)`` event.
    var reason: String {
        switch kind {
        case .reservedBits: "reserved bits set"
        case .compressedControlFrame: "compressed control frame"
        case .compressedContinuation: "RSV1 on a continuation frame"
        case .unknownOpcode: "unknown opcode"
        case .unmaskedFrame: "unmasked client frame"
        case .fragmentedControlFrame: "fragmented control frame"
        case .controlFrameTooLong: "control frame too long"
        case .unexpectedContinuation: "continuation without a message"
        case .interruptedMessage: "new message before the previous one ended"
        case .invalidPayloadLength: "invalid payload length"
        case .messageTooBig: "message too big"
        case .invalidUTF8: "invalid UTF-8 in text message"
        case .invalidClosePayloadLength: "close payload of 1 byte"
        case .invalidCloseCode: "invalid close code"
        case .invalidCloseReason: "invalid UTF-8 in close reason"
        }
    }
}
