import SwitchboardWire

/// Delivers a connection's events to a typed handler.
protocol WebSocketEventSink: AnyObject {
    func open()
    func text(_ text: String)
    func binary(_ data: [UInt8])
    func ping(_ payload: [UInt8])
    func pong(_ payload: [UInt8])
    func closed(code: WebSocketCloseCode, reason: String)
}

/// The socket itself delivers its events to its handler: one object per
/// connection fewer than a separate adapter.
extension WebSocket: WebSocketEventSink {
    func open() { handler.onOpen(self) }
    func text(_ text: String) { handler.onText(self, text) }
    func binary(_ data: [UInt8]) { handler.onBinary(self, data) }
    func ping(_ payload: [UInt8]) { handler.onPing(self, payload) }
    func pong(_ payload: [UInt8]) { handler.onPong(self, payload) }
    func closed(code: WebSocketCloseCode, reason: String) { handler.onClose(self, code: code, reason: reason) }
}
