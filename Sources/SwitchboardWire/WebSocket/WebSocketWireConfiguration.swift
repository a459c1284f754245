/// What the sans-I/O WebSocket session accepts from a peer.
public struct WebSocketWireConfiguration: Sendable {
    /// The largest message, in payload bytes summed over all of its frames.
    ///
    /// Checked as soon as a frame header is known, before any of its payload is buffered:
    /// a frame that would take the message past this limit fails the connection with 1009
    /// (RFC 6455 §7.4.1, §10.4). For a compressed message this bounds the compressed bytes;
    /// the layer that inflates must bound the inflated size itself.
    ///
    /// The default, 16 MiB, suits a session used on its own (benchmarks, tools); servers set
    /// their route's limit (Switchboard's default is 1 MiB), since a connection may buffer up
    /// to this much.
    public var maxMessageSize: Int

    /// Whether RSV1 may be set on the first frame of a data message, marking it compressed
    /// (permessage-deflate, RFC 7692 §6). Set it only after negotiating the extension.
    ///
    /// When false (the default: nothing negotiated), RSV1 anywhere is a protocol error
    /// (RFC 6455 §5.2). When true, RSV1 on a continuation or control frame still is
    /// (RFC 7692 §6.1). The session does not inflate: compressed messages are delivered as
    /// received, with `compressed: true`.
    public var allowsCompressedMessages: Bool

    /// The default for ``maxMessageSize``: 16 MiB.
    public static let defaultMaxMessageSize = 16 << 20

    /// Creates a configuration; every parameter has a documented default.
    public init(
        maxMessageSize: Int = WebSocketWireConfiguration.defaultMaxMessageSize,
        allowsCompressedMessages: Bool = false
    ) {
        self.maxMessageSize = maxMessageSize
        self.allowsCompressedMessages = allowsCompressedMessages
    }
}
