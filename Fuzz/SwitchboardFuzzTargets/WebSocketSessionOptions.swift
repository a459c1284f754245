import SwitchboardWire

/// The first byte of a `websocket-session` input: how the session is set
/// up and what the application does. The rest of the input is what the
/// client sends after the handshake.
struct WebSocketSessionOptions {
    /// bit 0: permessage-deflate was negotiated (RSV1 allowed).
    var allowsCompressedMessages: Bool
    /// bits 1–2: the limit, from small enough for fuzzed frames to pass it
    /// to none at all (`Int.max`, where arithmetic on it may overflow); it
    /// is also the inflate limit, as in `WebSocketConnection`.
    var maxMessageSize: Int
    /// bit 3: both sides keep their deflate window between messages.
    var contextTakeover: Bool
    /// bits 4–5: the application closes after this many events (0: never).
    var closeAfterEvent: Int
    /// bit 6: the application's close reason is too long for a close frame.
    var longCloseReason: Bool
    /// bit 7: the round-trip compressor uses the smallest window.
    var smallWindow: Bool

    static let messageSizes = [Int.max, 125, 1000, 70_000]

    init(_ byte: UInt8) {
        allowsCompressedMessages = byte & 1 != 0
        maxMessageSize = Self.messageSizes[Int(byte >> 1 & 3)]
        contextTakeover = byte & 8 != 0
        closeAfterEvent = Int(byte >> 4 & 3)
        longCloseReason = byte & 0x40 != 0
        smallWindow = byte & 0x80 != 0
    }

    var configuration: WebSocketWireConfiguration {
        WebSocketWireConfiguration(maxMessageSize: maxMessageSize, allowsCompressedMessages: allowsCompressedMessages)
    }

    /// 140 bytes of two-byte characters when long: the frame must cut it at
    /// a character boundary.
    var closeReason: String {
        longCloseReason ? String(repeating: "é", count: 70) : "done"
    }
}
