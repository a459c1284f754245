import SwitchboardWire

/// Delivers a connection's events to a typed handler.
protocol WebSocketEventSink: AnyObject {
    func open()
    /// A text or binary message whose bytes are valid during the call only.
    func message(_ bytes: UnsafeRawBufferPointer, isText: Bool)
    func ping(_ payload: [UInt8])
    func pong(_ payload: [UInt8])
    func closed(code: WebSocketCloseCode, reason: String)
}

/// The socket itself delivers its events to its handler: one object per
/// connection fewer than a separate adapter.
extension WebSocket: WebSocketEventSink {
    func open() { handler.onOpen(self) }
    func message(_ bytes: UnsafeRawBufferPointer, isText: Bool) {
        handler.onMessage(self, unsafe RawSpan(_unsafeBytes: bytes), isText: isText)
    }
    func ping(_ payload: [UInt8]) { handler.onPing(self, payload) }
    func pong(_ payload: [UInt8]) { handler.onPong(self, payload) }
    func closed(code: WebSocketCloseCode, reason: String) { handler.onClose(self, code: code, reason: reason) }
}
