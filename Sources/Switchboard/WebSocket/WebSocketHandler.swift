public import SwitchboardWire

/// The application's side of a WebSocket route: one method per event,
/// each with an empty default.
///
/// Every method runs on the connection's loop thread and must not block;
/// `WebSocket` itself may be used from any thread (hand slow work off and
/// send the result from there).
public protocol WebSocketHandler<UserData>: Sendable {
    /// Per-connection data that `authenticate` attaches (a user id, a
    /// session). `Void` when there is none.
    associatedtype UserData: Sendable = Void

    /// Runs before the upgrade, with the request's headers, query and
    /// cookies. Throw `HTTPError` (401, 403, ...) to refuse with that
    /// status; return the connection's user data to accept.
    func authenticate(_ request: Request) throws -> UserData

    /// The connection is open: subscribe it, greet it, remember it.
    func onOpen(_ socket: WebSocket<UserData>)
    /// A complete text or binary message, lent: `bytes` is valid only
    /// during the call (a span cannot outlive it). A handler that forwards
    /// or reads a message without keeping it (an echo, a relay, a parser
    /// picking out a field) saves the copy into a `String` or `[UInt8]`
    /// here. Text is already valid UTF-8. The default calls
    /// ``onText(_:_:)`` or ``onBinary(_:_:)`` with a copy.
    func onMessage(_ socket: WebSocket<UserData>, _ bytes: RawSpan, isText: Bool)
    /// A complete text message (already valid UTF-8).
    func onText(_ socket: WebSocket<UserData>, _ text: String)
    /// A complete binary message.
    func onBinary(_ socket: WebSocket<UserData>, _ data: [UInt8])
    /// A ping arrived; the pong has already been sent.
    func onPing(_ socket: WebSocket<UserData>, _ payload: [UInt8])
    /// A pong arrived.
    func onPong(_ socket: WebSocket<UserData>, _ payload: [UInt8])
    /// The connection is gone; called exactly once, whatever the cause.
    /// `code` is the peer's close code, the code the server closed with,
    /// or 1006 (`abnormalClosure`) when the TCP connection just ended.
    func onClose(_ socket: WebSocket<UserData>, code: WebSocketCloseCode, reason: String)
}

extension WebSocketHandler where UserData == Void {
    public func authenticate(_ request: Request) throws {}
}

extension WebSocketHandler {
    public func onOpen(_ socket: WebSocket<UserData>) {}
    public func onMessage(_ socket: WebSocket<UserData>, _ bytes: RawSpan, isText: Bool) {
        bytes.withUnsafeBytes { bytes in
            if isText {
                onText(socket, String(decoding: bytes, as: UTF8.self))
            } else {
                onBinary(socket, Array(bytes))
            }
        }
    }
    public func onText(_ socket: WebSocket<UserData>, _ text: String) {}
    public func onBinary(_ socket: WebSocket<UserData>, _ data: [UInt8]) {}
    public func onPing(_ socket: WebSocket<UserData>, _ payload: [UInt8]) {}
    public func onPong(_ socket: WebSocket<UserData>, _ payload: [UInt8]) {}
    public func onClose(_ socket: WebSocket<UserData>, code: WebSocketCloseCode, reason: String) {}
}
