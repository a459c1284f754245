public import SwitchboardIO
public import SwitchboardWire

/// One open WebSocket connection, usable from any thread.
///
/// Sends from the connection's own loop are queued directly; from any other
/// thread they are encoded there and handed to the loop, so there is only
/// ever one writer and frames never interleave. Messages sent from one
/// thread arrive in the order they were sent.
///
/// A small value that refers to the connection: copies are the same
/// connection, and equal; keep one (in a set, a dictionary) to reach the
/// connection later. The connection itself holds only what differs per
/// connection (the route's handler and settings are shared), so an idle one
/// stays small.
public struct WebSocket<UserData: Sendable>: Sendable, Hashable {
    @usableFromInline let connection: WebSocketConnection

    @inlinable @inline(__always)
    init(_ connection: WebSocketConnection) {
        self.connection = connection
    }

    /// What `WebSocketHandler.authenticate` attached. Keep there what the
    /// connection needs from its upgrade request (a user, a room, a header):
    /// the request itself is not kept, so an idle connection stays small.
    public var userData: UserData { connection.userData(as: UserData.self) }

    /// The negotiated subprotocol, if any.
    public var subprotocol: String? { connection.subprotocol }

    /// The peer's address (as accepted; still there after the close).
    public var remoteAddress: SocketAddress? { connection.tcp.remoteAddress }

    /// The loop that owns this connection; its handler callbacks run there.
    public var loop: EventLoop { connection.tcp.loop }

    /// Whether the connection is open (neither side has started closing).
    public var isOpen: Bool { connection.isOpen }

    /// Messages dropped under `SlowConsumerPolicy.drop`.
    public var droppedMessageCount: Int { connection.droppedMessageCount }

    /// Sends a text message.
    @discardableResult @inlinable
    public func send(text: String) -> SendResult {
        var text = text
        return text.withUTF8 { send(.text, UnsafeRawBufferPointer($0)) }
    }

    /// Sends a binary message.
    @discardableResult @inlinable
    public func send(binary: [UInt8]) -> SendResult {
        binary.withUnsafeBytes { send(.binary, $0) }
    }

    /// Sends a binary message from lent bytes (those of ``WebSocketHandler/onMessage(_:_:isText:)``
    /// among them), copied once, into the frame.
    @discardableResult @inlinable
    public func send(binary bytes: RawSpan) -> SendResult {
        bytes.withUnsafeBytes { send(.binary, $0) }
    }

    /// Sends a text message from lent bytes, which must be UTF-8 (as a
    /// received text message's are; the peer fails the connection otherwise).
    @discardableResult @inlinable
    public func send(utf8Text bytes: RawSpan) -> SendResult {
        bytes.withUnsafeBytes { send(.text, $0) }
    }

    // The sends are inlined into the handler: a reply is one call to the
    // connection, not two.
    @usableFromInline
    func send(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) -> SendResult {
        connection.send(opcode, payload)
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2). `reason` is cut to
    /// 123 bytes. Safe from any thread; a second call does nothing.
    public func close(code: WebSocketCloseCode = .normalClosure, reason: String = "") {
        connection.close(code: code, reason: reason)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.connection === rhs.connection }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(connection)) }
}
