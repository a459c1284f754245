/// What a ``WebSocketSession`` reports from the bytes it received, one per `nextEvent()`.
public enum WebSocketEvent: Sendable, Hashable {
    /// A complete data message (RFC 6455 §5.6): `.text` or `.binary` and the payload of all of
    /// its frames, unmasked and joined.
    ///
    /// Text is already validated as UTF-8 unless `compressed`: the bytes of a compressed
    /// message are deflate output, so the layer that inflates it validates the result.
    case message(WebSocketOpcode, [UInt8], compressed: Bool)

    /// A ping with its application data (RFC 6455 §5.5.2). While the session is open it has
    /// already queued the matching pong in its outbound bytes. After the application's
    /// `close(code:reason:)` nothing follows the close frame (RFC 6455 §1.4): no pong is queued.
    case ping([UInt8])

    /// A pong with its application data (RFC 6455 §5.5.3), solicited or not.
    case pong([UInt8])

    /// The peer sent a close frame (RFC 6455 §5.5.1). Unless the session had sent its own close
    /// frame first, it has already queued the reply, echoing the code. `code` is nil for an
    /// empty close payload: report it to the application as 1005,
    /// ``WebSocketCloseCode/noStatusReceived``.
    /// The session is closed: the I/O layer flushes the outbound bytes, then closes TCP.
    case closed(code: WebSocketCloseCode?, reason: String)

    /// The peer broke the protocol (RFC 6455 §7.1.7). The session has queued a close frame with
    /// this code (unless it had already sent one) and stopped parsing. The reason is fixed
    /// text chosen by the session, never peer data. The I/O layer flushes, then closes TCP.
    case failed(WebSocketCloseCode, reason: String)
}

/// What ``WebSocketSession/nextLentEvent()`` returns: a data message whose payload is lent
/// where it lies instead of copied into an array, or any other event.
public enum WebSocketLentEvent {
    /// A complete data message, as ``WebSocketEvent/message(_:_:compressed:)`` but with its
    /// payload lent: valid until the next call into the session, and not to be kept.
    case message(WebSocketOpcode, UnsafeRawBufferPointer, compressed: Bool)
    /// Any other event.
    case other(WebSocketEvent)
}
