import SwitchboardDeflate
import SwitchboardIO
import SwitchboardWire
import Synchronization

/// Drives one upgraded connection: feeds bytes to the sans-I/O session,
/// hands its events to the handler, writes what it must send, and keeps
/// every timer of the connection (heartbeat, pong, idle, write stall,
/// close handshake) in the connection's single deadline.
///
/// This file holds its state and its end (`WebSocketLifecycle`); input,
/// output, timers and topics are in the files named after them.
///
/// Loop-bound, except `isOpen`, `droppedMessageCount`, `send(frame:)` and
/// `close(code:reason:)`, which hop to the loop when called off it.
@usableFromInline
final class WebSocketConnection: TCPConnectionDelegate, @unchecked Sendable {
    let tcp: TCPConnection
    let settings: WebSocketSettings
    var configuration: WebSocketConfiguration { settings.configuration }
    let context: LoopContext
    // Loop-confined: exclusivity checks skipped on the hot path.
    @exclusivity(unchecked) var session: WebSocketSession
    /// The route's handler, shared by all its connections.
    var sink: WebSocketEventSink { settings.sink }
    /// permessage-deflate, when the handshake agreed on it.
    let deflate: ConnectionDeflate?
    /// What `authenticate` attached, boxed; nil for `Void`, which needs no
    /// storage (`userData(as:)`).
    let userDataBox: AnyObject?
    /// The agreed subprotocol's place in the route's list; `UInt16.max`: none.
    let subprotocolIndex: UInt16

    let openFlag = Atomic<Bool>(true)
    /// Messages dropped for a slow consumer (`UInt32`: with the flag above
    /// it fits in one word of the connection).
    let dropped = Atomic<UInt32>(0)

    /// Every way this WebSocket can end goes through `apply(_:)`. Like the
    /// session and the timers, read on every message: loop-confined, so
    /// the runtime's exclusivity checks (~75 instructions per echoed
    /// message, callgrind) are skipped.
    @exclusivity(unchecked) var lifecycle = WebSocketLifecycle()
    /// Heartbeat, pong, idle, write stall and close timeouts, as a value.
    @exclusivity(unchecked) var timers: WebSocketTimers

    init(
        tcp: TCPConnection, settings: WebSocketSettings, context: LoopContext, deflate: ConnectionDeflate? = nil,
        userDataBox: AnyObject? = nil, subprotocol: String? = nil
    ) {
        // Fields read through `settings` one by one: binding its whole
        // configuration copied it (a retain for each reference it holds).
        self.tcp = tcp
        self.settings = settings
        self.context = context
        self.deflate = deflate
        self.userDataBox = userDataBox
        subprotocolIndex = subprotocol.flatMap { settings.configuration.subprotocols.firstIndex(of: $0) }.map { UInt16(clamping: $0) } ?? .max
        session = WebSocketSession(
            configuration: WebSocketWireConfiguration(
                maxMessageSize: settings.configuration.maxMessageSize,
                allowsCompressedMessages: deflate != nil
            )
        )
        timers = WebSocketTimers(settings: settings.timers, now: tcp.loop.now)
    }

    var isOpen: Bool { openFlag.load(ordering: .relaxed) }

    /// `transportIsOpen` without a call into the I/O module: read after every
    /// message delivered (a write inside the handler may find the peer gone).
    var transportIsOpen: Bool { tcp.openFlag.load(ordering: .relaxed) }

    /// The user data of a `WebSocket<Value>` over this connection.
    func userData<Value: Sendable>(as type: Value.Type) -> Value {
        guard let userDataBox else { return unsafeBitCast((), to: Value.self) }  // Void
        return unsafeDowncast(userDataBox, to: UserDataBox<Value>.self).value
    }

    /// The boxed form of `userData` (nil for `Void`).
    static func box<Value: Sendable>(_ userData: Value) -> AnyObject? {
        Value.self == Void.self ? nil : UserDataBox(userData)
    }

    var subprotocol: String? {
        subprotocolIndex == .max ? nil : configuration.subprotocols[Int(subprotocolIndex)]
    }
    var droppedMessageCount: Int { Int(dropped.load(ordering: .relaxed)) }

    /// Takes the connection over from the HTTP handler; `initialBytes` are
    /// what the client sent after its upgrade request.
    func start(initialBytes: [UInt8]) {
        tcp.replaceDelegate(with: self)
        context.webSocketOpened()
        context.counts.add(1, .opened, route: settings.metricsIndex)
        sink.open(self)
        // The handler may have closed it in onOpen.
        if !initialBytes.isEmpty, lifecycle.phase != .ended {
            initialBytes.withUnsafeBytes { session.receive($0) }
            deliverEvents()
        } else {
            scheduleDeadline()
        }
    }

    /// Bytes read since our close frame went out (see `acceptInputAfterClose`).
    var inputAfterClose: UInt32 = 0
    /// Whether the connection may be in the hub's tables.
    var hasSubscriptions = false
    /// The handler has heard `onClose`: nothing reaches it any more.
    @exclusivity(unchecked) var isFinished = false
    /// Delivery was left for a later turn of the loop (`yieldTurn`).
    var isYielding = false

    // MARK: Lifecycle

    /// The one place where the WebSocket reacts to an event that can end
    /// it; the lifecycle moves before anything here can nest another event.
    func apply(_ event: WebSocketLifecycle.Event) {
        let action = lifecycle.handle(event)
        if lifecycle.phase != .open { openFlag.store(false, ordering: .relaxed) }
        switch action {
        case .none:
            break
        case .sendClose(let code, let reason):
            session.close(code: code, reason: reason)
            timers.closeSent(now: tcp.loop.now)
            writeSessionBytes()
            scheduleDeadline()
        case .sendCloseThenCloseTransport:
            session.close(code: .goingAway, reason: "server shutting down")
            writeSessionBytes()
            tcp.closeAfterFlush()
        case .closeTransportAfterFlushAndNotify:
            // The closing handshake is complete (or failed): the server
            // closes the TCP connection first (RFC 6455 §7.1.1).
            writeSessionBytes()
            tcp.closeAfterFlush()
            finish()
        case .closeTransportAndNotify:
            tcp.close()
            finish()
        case .notify:
            finish()
        }
    }

    // MARK: End

    func connectionDidReachEndOfInput(_ connection: TCPConnection) {
        // The peer half-closed without a close frame: nothing more will
        // come, but it may still read what is queued for it. The handler
        // hears 1006 once the TCP connection is closed.
        connection.closeAfterFlush()
    }

    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        apply(.transportEnded)
    }

    /// The WebSocket is over: the closing handshake completed or failed, or
    /// the TCP connection ended. The lifecycle answers this once: leaves
    /// every topic and tells the handler. After a completed handshake this
    /// does not wait for the TCP connection to finish closing (up to its
    /// linger time), so a chat's "left" notice goes out at once.
    func finish() {
        guard !isFinished else { return }
        isFinished = true
        if hasSubscriptions {
            context.pubsub.hub.unsubscribeAll(self, onLoop: tcp.loop.index)
            context.forgetHistoryMarks(of: self)
        }
        hasSubscriptions = false
        let code = lifecycle.closeCodeForHandler
        sink.closed(self, code: code, reason: lifecycle.reasonForHandler)
        context.counts.closed(code: code.rawValue, route: settings.metricsIndex)
        // Counted as closed once the handler has run: a stopping server
        // waits for it, so what onClose publishes still reaches a backplane.
        context.webSocketClosed()
    }

    /// The node holds more queued bytes than its budget and this is one of
    /// the longest queues: dropped at once (a close frame would wait
    /// behind the queue); the handler hears 1006.
    func dropForQueueBudget(queued: Int) {
        context.counts.add(1, .slowConsumerCloses, route: settings.metricsIndex)
        context.log(.debug, "dropped a slow consumer: the node's queued-bytes budget is spent", connection: tcp, route: settings.pattern,
                    ["queued_bytes": "\(queued)"])
        apply(.peerUnresponsive)
    }

    /// Server shutdown: 1001 to the client, then the TCP connection closes
    /// once it is written (the shutdown does not wait for the reply).
    func closeForServerShutdown() {
        apply(.serverStopping)
    }
}
