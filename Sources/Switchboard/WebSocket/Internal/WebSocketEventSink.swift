import SwitchboardWire

/// Delivers the events of a route's connections to its typed handler, but
/// for messages (`WebSocketSettings.deliverMessage`, specialised for the
/// handler's type). One per route (in its `WebSocketSettings`), so a
/// connection holds no handler and no adapter of its own; subclassed once,
/// by `HandlerSink`.
class WebSocketEventSink: @unchecked Sendable {
    func open(_ connection: WebSocketConnection) {}
    func ping(_ connection: WebSocketConnection, _ payload: [UInt8]) {}
    func pong(_ connection: WebSocketConnection, _ payload: [UInt8]) {}
    func closed(_ connection: WebSocketConnection, code: WebSocketCloseCode, reason: String) {}
}

/// A route's handler, called with the connection as its `WebSocket`.
final class HandlerSink<Handler: WebSocketHandler>: WebSocketEventSink, @unchecked Sendable {
    let handler: Handler

    init(_ handler: Handler) {
        self.handler = handler
    }

    override func open(_ connection: WebSocketConnection) {
        handler.onOpen(WebSocket(connection))
    }

    override func ping(_ connection: WebSocketConnection, _ payload: [UInt8]) {
        handler.onPing(WebSocket(connection), payload)
    }

    override func pong(_ connection: WebSocketConnection, _ payload: [UInt8]) {
        handler.onPong(WebSocket(connection), payload)
    }

    override func closed(_ connection: WebSocketConnection, code: WebSocketCloseCode, reason: String) {
        handler.onClose(WebSocket(connection), code: code, reason: reason)
    }
}

/// A connection's user data when it is not `Void` (which needs no storage).
final class UserDataBox<Value: Sendable>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
