public import SwitchboardIO
public import SwitchboardWire

/// What a send did.
public enum SendResult: Sendable, Hashable {
    /// Queued on an otherwise idle connection: it leaves in this loop turn.
    case sent
    /// Queued behind bytes the peer has not read yet, or handed to the
    /// connection's loop from another thread.
    case buffered
    /// Not sent: the connection is closing or closed, or the message did
    /// not fit under `maxQueuedBytes` (see `SlowConsumerPolicy`).
    case dropped
}

/// One open WebSocket connection, usable from any thread.
///
/// Sends from the connection's own loop are queued directly; from any other
/// thread they are encoded there and handed to the loop, so there is only
/// ever one writer and frames never interleave. Messages sent from one
/// thread arrive in the order they were sent.
public final class WebSocket<UserData: Sendable>: Sendable {
    /// What `WebSocketHandler.authenticate` attached. Keep there what the
    /// connection needs from its upgrade request (a user, a room, a header):
    /// the request itself is not kept, so an idle connection stays small.
    public let userData: UserData
    /// The negotiated subprotocol, if any.
    public let subprotocol: String?
    /// The peer's address.
    public let remoteAddress: SocketAddress?
    let connection: WebSocketConnection
    private let handler: any WebSocketHandler<UserData>

    init(userData: UserData, subprotocol: String?, remoteAddress: SocketAddress?, connection: WebSocketConnection, handler: any WebSocketHandler<UserData>) {
        self.userData = userData
        self.subprotocol = subprotocol
        self.remoteAddress = remoteAddress
        self.connection = connection
        self.handler = handler
    }

    /// The loop that owns this connection; its handler callbacks run there.
    public var loop: EventLoop { connection.tcp.loop }

    /// Whether the connection is open (neither side has started closing).
    public var isOpen: Bool { connection.isOpen }

    /// Messages dropped under `SlowConsumerPolicy.drop`.
    public var droppedMessageCount: Int { connection.droppedMessageCount }

    /// Sends a text message.
    @discardableResult
    public func send(text: String) -> SendResult {
        var text = text
        return text.withUTF8 { send(.text, UnsafeRawBufferPointer($0)) }
    }

    /// Sends a binary message.
    @discardableResult
    public func send(binary: [UInt8]) -> SendResult {
        binary.withUnsafeBytes { send(.binary, $0) }
    }

    /// Sends an already encoded frame (the hub encodes a publish once for
    /// all its subscribers).
    @discardableResult
    package func send(frame: SharedBytes) -> SendResult {
        connection.send(frame: frame)
    }

    private func send(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) -> SendResult {
        connection.send(opcode, payload)
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2). `reason` is cut to
    /// 123 bytes. Safe from any thread; a second call does nothing.
    public func close(code: WebSocketCloseCode = .normalClosure, reason: String = "") {
        connection.close(code: code, reason: reason)
    }
}

extension SharedBytes {
    /// One unmasked frame: header and payload in one buffer; RSV1 marks a
    /// `compressed` payload (RFC 7692 §6).
    static func webSocketFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, compressed: Bool = false) -> SharedBytes {
        SharedBytes(count: WebSocketFrame.serverHeaderSize(payloadLength: payload.count) + payload.count) { target in
            WebSocketFrame.writeServerFrame(opcode: opcode, rsv1: compressed, payload: payload, into: target)
        }
    }
}

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
