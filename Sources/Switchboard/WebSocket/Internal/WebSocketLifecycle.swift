import SwitchboardWire

/// The life of one WebSocket above its TCP connection, as a value: every
/// way a WebSocket can end (its closing handshake, a protocol failure, a
/// silent or stalled peer, the TCP connection ending, the server stopping)
/// goes through `handle(_:)`, which moves the phase first and answers what
/// the connection must do. The handler hears `onClose` exactly once: the
/// one transition into `ended` answers it, whatever order the events come
/// in and however they nest (a handler closing inside `onText`, a reset
/// while our close frame is queued).
struct WebSocketLifecycle {
    enum Phase: Equatable {
        case open
        /// Our close frame is out; waiting for the peer's (RFC 6455 §7.1.2).
        case closeSent
        /// The handler has heard `onClose` (or is hearing it now).
        case ended
    }

    enum Event: Equatable {
        /// This side starts the closing handshake (a handler's `close`,
        /// a slow consumer, the idle timeout).
        case close(WebSocketCloseCode, reason: String)
        /// The server is stopping: 1001, then the TCP connection closes as
        /// soon as that is written.
        case serverStopping
        /// The session finished the closing handshake; `code` is the one in
        /// the peer's close frame (nil: none).
        case handshakeCompleted(WebSocketCloseCode?, reason: String)
        /// A protocol error: the session queued its close frame with `code`.
        case failed(WebSocketCloseCode, reason: String)
        /// The peer stopped reading or answering: no close frame can reach
        /// it, so the TCP connection is dropped (1006 for the handler).
        case peerUnresponsive
        /// The peer never answered our close frame, or kept sending past
        /// what one message in flight explains (`inputAfterCloseLimit`).
        case closeTimedOut
        /// The TCP connection ended (end of input, reset, or closed).
        case transportEnded
    }

    enum Action: Hashable {
        case none
        /// Queue a close frame with this code and reason.
        case sendClose(WebSocketCloseCode, reason: String)
        /// Queue 1001 and close the TCP connection once it is written; the
        /// handler hears about it when the TCP connection ends.
        case sendCloseThenCloseTransport
        /// Close the TCP connection after what is queued, and tell the handler.
        case closeTransportAfterFlushAndNotify
        /// Close the TCP connection now, and tell the handler.
        case closeTransportAndNotify
        /// The TCP connection is gone: tell the handler.
        case notify
    }

    private(set) var phase = Phase.open
    /// The code the handler hears: ours or the peer's; nil means 1006.
    private(set) var code: WebSocketCloseCode?
    /// The close reason, boxed: most closes have none, and an open
    /// connection should not carry an empty `String` (16 bytes) for it.
    private var reasonBox: ReasonBox?
    var reason: String { reasonBox?.text ?? "" }

    private final class ReasonBox: Sendable {
        let text: String
        init(_ text: String) { self.text = text }
    }

    /// Whether the handler's close code is 1006 (abnormal closure).
    var closeCodeForHandler: WebSocketCloseCode { code ?? .abnormalClosure }
    var reasonForHandler: String { code == nil ? "" : reason }

    mutating func handle(_ event: Event) -> Action {
        if phase == .ended { return .none }
        switch event {
        case .close(let code, let reason):
            guard phase == .open else { return .none }
            phase = .closeSent
            record(code, reason)
            return .sendClose(code, reason: reason)
        case .serverStopping:
            if phase == .open { record(.goingAway, "server shutting down") }
            phase = .closeSent
            return .sendCloseThenCloseTransport
        case .handshakeCompleted(let peerCode, let reason):
            // The code of the close that came first: ours when we started.
            if phase == .open { record(peerCode ?? .noStatusReceived, reason) }
            phase = .ended
            return .closeTransportAfterFlushAndNotify
        case .failed(let code, let reason):
            record(code, reason)
            phase = .ended
            return .closeTransportAfterFlushAndNotify
        case .peerUnresponsive:
            code = nil
            phase = .ended
            return .closeTransportAndNotify
        case .closeTimedOut:
            phase = .ended
            return .closeTransportAndNotify
        case .transportEnded:
            phase = .ended
            return .notify
        }
    }

    private mutating func record(_ code: WebSocketCloseCode, _ reason: String) {
        self.code = code
        reasonBox = reason.isEmpty ? nil : ReasonBox(reason)
    }
}
