import SwitchboardDeflate
import SwitchboardIO
import SwitchboardWire
import Synchronization

/// Drives one upgraded connection: feeds bytes to the sans-I/O session,
/// hands its events to the handler, writes what it must send, and keeps
/// every timer of the connection (heartbeat, pong, idle, write stall,
/// close handshake) in the connection's single deadline.
///
/// Loop-bound, except `isOpen`, `droppedMessageCount`, `send(frame:)` and
/// `close(code:reason:)`, which hop to the loop when called off it.
final class WebSocketConnection: TCPConnectionDelegate, @unchecked Sendable {
    let tcp: TCPConnection
    private let settings: WebSocketSettings
    private var configuration: WebSocketConfiguration { settings.configuration }
    private let context: LoopContext
    // Loop-confined: exclusivity checks skipped on the hot path.
    @exclusivity(unchecked) private var session: WebSocketSession
    var sink: (any WebSocketEventSink)?
    /// permessage-deflate, when the handshake agreed on it.
    private let deflate: ConnectionDeflate?

    private let openFlag = Atomic<Bool>(true)
    private let dropped = Atomic<Int>(0)

    /// Every way this WebSocket can end goes through `apply(_:)`.
    private var lifecycle = WebSocketLifecycle()
    /// Heartbeat, pong, idle, write stall and close timeouts, as a value.
    private var timers: WebSocketTimers

    init(tcp: TCPConnection, settings: WebSocketSettings, context: LoopContext, deflate: ConnectionDeflate? = nil) {
        let configuration = settings.configuration
        self.tcp = tcp
        self.settings = settings
        self.context = context
        self.deflate = deflate
        session = WebSocketSession(
            configuration: WebSocketWireConfiguration(
                maxMessageSize: configuration.maxMessageSize,
                allowsCompressedMessages: deflate != nil
            )
        )
        timers = WebSocketTimers(settings: settings.timers, now: tcp.loop.now)
    }

    var isOpen: Bool { openFlag.load(ordering: .relaxed) }
    var droppedMessageCount: Int { dropped.load(ordering: .relaxed) }

    /// Takes the connection over from the HTTP handler; `initialBytes` are
    /// what the client sent after its upgrade request.
    func start(initialBytes: [UInt8]) {
        tcp.replaceDelegate(with: self)
        context.webSocketOpened(self)
        sink?.open()
        // The handler may have closed it in onOpen.
        if !initialBytes.isEmpty, lifecycle.phase != .ended {
            initialBytes.withUnsafeBytes { session.receive($0) }
            deliverEvents()
        } else {
            scheduleDeadline()
        }
    }

    // MARK: Lifecycle

    /// The one place where the WebSocket reacts to an event that can end
    /// it; the lifecycle moves before anything here can nest another event.
    private func apply(_ event: WebSocketLifecycle.Event) {
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

    // MARK: Inbound

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        timers.inputArrived()
        if lifecycle.phase == .closeSent, !acceptInputAfterClose(bytes.count) { return }
        session.receive(bytes)
        deliverEvents()
    }

    /// Bytes read since our close frame went out.
    private var inputAfterClose: UInt32 = 0

    /// After our close frame the peer may still finish a message it had
    /// started, so its input is read (and discarded by the session) until
    /// its close frame arrives; past one largest message it is ignoring our
    /// close, and reading on would only let it keep the loop busy.
    private func acceptInputAfterClose(_ count: Int) -> Bool {
        let limit = max(configuration.maxMessageSize, 64 * 1024) + 1024
        let total = min(Int(inputAfterClose) + count, limit + 1)
        inputAfterClose = UInt32(clamping: total)
        guard total > limit else { return true }
        apply(.closeTimedOut)
        return false
    }

    private func deliverEvents() {
        // Stop as soon as the WebSocket has ended (a handler may close it,
        // or a write inside a handler may find the peer gone).
        while lifecycle.phase != .ended, tcp.isOpen, let event = session.nextEvent() {
            // What the session queued while producing this event (a pong,
            // a close reply) goes out before anything the handler sends in
            // response to it: control frames keep their place in the stream.
            writeSessionBytes()
            switch event {
            case .message(let opcode, var payload, let compressed):
                if compressed {
                    guard let inflated = inflate(payload, isText: opcode == .text) else { continue }
                    payload = inflated
                }
                timers.messageArrived(now: tcp.loop.now)
                if opcode == .text {
                    sink?.text(String(decoding: payload, as: UTF8.self))
                } else {
                    sink?.binary(payload)
                }
            case .ping(let payload):
                sink?.ping(payload)
            case .pong(let payload):
                sink?.pong(payload)
            case .closed(let code, let reason):
                apply(.handshakeCompleted(code, reason: reason))
            case .failed(let code, let reason):
                apply(.failed(code, reason: reason))
            }
        }
        writeSessionBytes()
        applyReadBackpressure()
        scheduleDeadline()
    }

    /// A peer that sends without reading what it is sent (an echo never
    /// read, requests whose replies pile up) is not read from while half of
    /// `maxQueuedBytes` waits for it: TCP flow control then slows it down,
    /// instead of the server working through its input to produce output
    /// nobody takes. Reading resumes once the queue has drained.
    private func applyReadBackpressure() {
        guard tcp.isOpen, !tcp.isReadingPaused, tcp.queuedByteCount > configuration.maxQueuedBytes / 2 else { return }
        tcp.pauseReading()
    }

    func connectionDidDrain(_ connection: TCPConnection) {
        guard tcp.isReadingPaused else { return }
        // A pong held up in the unread input is not the peer's fault.
        timers.readingResumed(now: tcp.loop.now)
        tcp.resumeReading()
        scheduleDeadline()
    }

    /// Inflates a compressed message (RFC 7692 §7.2.2) within the size
    /// limit and checks its text; fails the connection and returns nil
    /// when it cannot: 1009 past `maxMessageSize` (a decompression bomb
    /// stops there), 1007 for text that is not UTF-8, 1002 for bytes that
    /// are not deflate data.
    private func inflate(_ payload: [UInt8], isText: Bool) -> [UInt8]? {
        guard let decompressor = deflate?.decompressor(context.deflate) else {
            fail(.internalError, "no decompressor")
            return nil
        }
        context.deflate.inflations.add(1, ordering: .relaxed)
        let result = payload.withUnsafeBytes { compressed in
            Result { () throws(DeflateError) in try decompressor.decompress(compressed, limit: configuration.maxMessageSize) }
        }
        switch result {
        case .success(let bytes):
            if isText && !bytes.withUnsafeBytes(UTF8Validator.isValid) {
                fail(.invalidPayload, "invalid UTF-8")
                return nil
            }
            return bytes
        case .failure(.tooLarge):
            fail(.messageTooBig, "message too big")
        case .failure:
            fail(.protocolError, "invalid compressed data")
        }
        return nil
    }

    /// Fails the connection for a problem found above the session.
    private func fail(_ code: WebSocketCloseCode, _ reason: String) {
        session.fail(code: code, reason: reason)
        apply(.failed(code, reason: reason))
    }

    /// Queues what the session must send (pongs, close frames). These go
    /// out even past `maxQueuedBytes`: they are small and the protocol
    /// needs them.
    private func writeSessionBytes() {
        guard session.hasOutboundBytes else { return }
        let bytes = session.takeOutboundBytes()
        tcp.write(count: bytes.count) { target in bytes.withUnsafeBytes { target.copyMemory(from: $0) } }
    }

    // MARK: Outbound

    /// Sends an already encoded frame (shared by many connections).
    func send(frame: SharedBytes) -> SendResult {
        guard tcp.loop.inEventLoop else {
            guard isOpen else { return .dropped }
            tcp.loop.execute { _ = self.send(frame: frame) }
            return .buffered
        }
        return admit(frame.count) { tcp.write(frame) }
    }

    /// Sends a published message: the frame every subscriber shares, its
    /// shared compressed form, or a compression of its own for a
    /// connection that keeps its compression context. On the loop.
    func send(published: PublishedFrame) -> SendResult {
        guard let deflate, let compression = configuration.compression else { return send(frame: published.plain) }
        let headerSize = published.plain.withUnsafeBytes { WebSocketFrame.serverHeaderSize(ofFrame: $0) }
        guard deflate.compresses(published.plain.count - headerSize, compression) else { return send(frame: published.plain) }
        return admit(published.plain.count) {
            published.plain.withUnsafeBytes { frame in
                let opcode = WebSocketFrame.opcode(ofFrame: frame)
                let payload = UnsafeRawBufferPointer(rebasing: frame[headerSize...])
                if deflate.takesSharedFrames, let slot = published.compressed {
                    let shared = slot.frame { compressedFrame(opcode, payload, compression) }
                    tcp.write(shared ?? published.plain)
                } else {
                    writeCompressed(opcode, payload, deflate, compression, plain: published.plain)
                }
            }
        }
    }

    /// Encodes and sends one frame. On the loop the frame is encoded
    /// straight into the connection's output (the cork buffer when this
    /// runs inside its read callback); elsewhere it is encoded here and
    /// handed over, or, when it is to be compressed, handed over as is and
    /// compressed on the loop (whose streams are not thread-safe).
    func send(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) -> SendResult {
        let compression = configuration.compression
        let compresses = compression.map { deflate?.compresses(payload.count, $0) == true } ?? false
        guard tcp.loop.inEventLoop else {
            guard isOpen else { return .dropped }
            if compresses {
                let bytes = Array(payload)
                tcp.loop.execute { _ = bytes.withUnsafeBytes { self.send(opcode, $0) } }
            } else {
                let frame = SharedBytes.webSocketFrame(opcode, payload)
                tcp.loop.execute { _ = self.send(frame: frame) }
            }
            return .buffered
        }
        let size = WebSocketFrame.serverHeaderSize(payloadLength: payload.count) + payload.count
        if compresses, let deflate, let compression {
            // Admitted on its uncompressed size: a compressor that keeps its
            // context must only see messages that are really sent.
            return admit(size) { writeCompressed(opcode, payload, deflate, compression, plain: nil) }
        }
        return admit(size) {
            tcp.write(count: size) { WebSocketFrame.writeServerFrame(opcode: opcode, payload: payload, into: $0) }
        }
    }

    /// Writes `payload` compressed (RSV1, RFC 7692 §6), or plain when it
    /// does not shrink and no context is kept.
    private func writeCompressed(
        _ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, _ deflate: ConnectionDeflate, _ compression: WebSocketCompression,
        plain: SharedBytes?
    ) {
        guard let compressor = deflate.compressor(context.deflate, compression) else { return writePlain(opcode, payload, plain) }
        context.deflate.compress(payload, with: compressor) { compressed in
            guard let compressed else { return writePlain(opcode, payload, plain) }
            let size = WebSocketFrame.serverHeaderSize(payloadLength: compressed.count) + compressed.count
            tcp.write(count: size) { WebSocketFrame.writeServerFrame(opcode: opcode, rsv1: true, payload: compressed, into: $0) }
        }
    }

    private func writePlain(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, _ plain: SharedBytes?) {
        if let plain {
            tcp.write(plain)
        } else {
            let size = WebSocketFrame.serverHeaderSize(payloadLength: payload.count) + payload.count
            tcp.write(count: size) { WebSocketFrame.writeServerFrame(opcode: opcode, payload: payload, into: $0) }
        }
    }

    /// The compressed frame a publish shares among its subscribers, or nil
    /// when compression does not make it smaller.
    private func compressedFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, _ compression: WebSocketCompression) -> SharedBytes? {
        guard let compressor = context.deflate.compressor(windowBits: 15, settings: compression) else { return nil }
        return context.deflate.compress(payload, with: compressor) { compressed in
            compressed.map { SharedBytes.webSocketFrame(opcode, $0, compressed: true) }
        }
    }

    /// Applies the slow-consumer policy, then `write`s.
    private func admit(_ size: Int, _ write: () -> Void) -> SendResult {
        guard lifecycle.phase == .open, tcp.isOpen else { return .dropped }
        let queued = tcp.queuedByteCount
        if queued + size > configuration.maxQueuedBytes, queued > 0 {
            switch configuration.slowConsumerPolicy.kind {
            case .drop:
                dropped.add(1, ordering: .relaxed)
            case .close:
                close(code: .policyViolation, reason: "slow consumer")
            }
            return .dropped
        }
        write()
        if queued == 0 {
            if tcp.queuedByteCount > 0 { scheduleDeadline() }  // a write stall can start now
            return .sent
        }
        return .buffered
    }

    func close(code: WebSocketCloseCode, reason: String) {
        guard tcp.loop.inEventLoop else {
            tcp.loop.execute { self.close(code: code, reason: reason) }
            return
        }
        apply(.close(code, reason: reason))
    }

    // MARK: Timers

    /// Sets the connection's one deadline to the earliest of its timers.
    private func scheduleDeadline() {
        guard tcp.isOpen else { return }
        let now = tcp.loop.now
        let deadline = timers.deadline(settings.timers, transportState)
        tcp.setDeadline(after: deadline.map { $0 > now ? $0 - now : 0 })
    }

    private var transportState: WebSocketTimers.Transport {
        WebSocketTimers.Transport(
            hasQueuedBytes: tcp.queuedByteCount > 0, lastWriteProgress: tcp.lastWriteProgress, isReadingPaused: tcp.isReadingPaused)
    }

    func connectionDeadlinePassed(_ connection: TCPConnection) {
        switch timers.fire(now: tcp.loop.now, settings.timers, transportState) {
        case .none: break
        case .sendPing: tcp.write(Self.ping)
        case .close(let code, let reason): close(code: code, reason: reason)
        case .dropConnection: apply(.peerUnresponsive)
        case .closeTimedOut: apply(.closeTimedOut)
        }
        scheduleDeadline()
    }

    private static let ping = SharedBytes(WebSocketFrame.encode(opcode: .ping, payload: [UInt8]()))

    // MARK: Topics

    private var hasSubscriptions = false

    /// Topics this connection is subscribed to (on its loop).
    var subscriptionCount: Int {
        hasSubscriptions ? context.pubsub.hub.topics(of: self, onLoop: tcp.loop.index).count : 0
    }

    /// Runs `body` on the connection's loop: now if already there.
    func onLoop(_ body: @escaping @Sendable (WebSocketConnection) -> Void) {
        if tcp.loop.inEventLoop {
            body(self)
        } else {
            tcp.loop.execute { body(self) }
        }
    }

    func subscribe(_ topic: String) {
        guard tcp.isOpen, sink != nil else { return }
        hasSubscriptions = true
        context.pubsub.hub.subscribe(self, onLoop: tcp.loop.index, to: topic)
    }

    func unsubscribe(_ topic: String) {
        context.pubsub.hub.unsubscribe(self, onLoop: tcp.loop.index, from: topic)
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
    private func finish() {
        guard let sink else { return }
        if hasSubscriptions { context.pubsub.hub.unsubscribeAll(self, onLoop: tcp.loop.index) }
        hasSubscriptions = false
        self.sink = nil  // breaks the connection → sink → socket → connection cycle
        sink.closed(code: lifecycle.closeCodeForHandler, reason: lifecycle.reasonForHandler)
        // Counted as closed once the handler has run: a stopping server
        // waits for it, so what onClose publishes still reaches a backplane.
        context.webSocketClosed(self)
    }

    /// Server shutdown: 1001 to the client, then the TCP connection closes
    /// once it is written (the shutdown does not wait for the reply).
    func closeForServerShutdown() {
        apply(.serverStopping)
    }
}
