import SwitchboardDeflate
import SwitchboardIO
import SwitchboardWire

/// Input: bytes to the session, its events to the handler, compressed
/// messages inflated and checked, and reading paused while the peer does
/// not take what it is sent.
extension WebSocketConnection {
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        timers.inputArrived()
        if lifecycle.phase == .closeSent, !acceptInputAfterClose(bytes.count) { return }
        // Parsed in the loop's read buffer; what a partial frame or a
        // yielded turn leaves is copied before the buffer is read into again.
        session.receive(inPlace: bytes)
        deliverEvents()
        session.keepUnconsumedInput()
    }


    /// After our close frame the peer may still finish a message it had
    /// started, so its input is read (and discarded by the session) until
    /// its close frame arrives; past one largest message it is ignoring our
    /// close, and reading on would only let it keep the loop busy.
    func acceptInputAfterClose(_ count: Int) -> Bool {
        let limit = max(configuration.maxMessageSize, 64 * 1024) + 1024
        let total = min(Int(inputAfterClose) + count, limit + 1)
        inputAfterClose = UInt32(clamping: total)
        guard total > limit else { return true }
        apply(.closeTimedOut)
        return false
    }

    /// What one connection may hand its handler in one turn of its loop
    /// before the others get theirs: payload bytes, with each message
    /// counted at least `turnCostPerMessage`. Without it a peer sending
    /// compressed messages that inflate a thousandfold, or a flood of tiny
    /// ones, holds the loop for as long as it keeps sending.
    static let turnBudget = 4 << 20
    static let turnCostPerMessage = 256

    /// What one `deliverEvents` handed the handler: the turn's budget
    /// left, and the messages and bytes for the route's metrics, counted
    /// in once at its end rather than per message.
    struct DeliveryTally {
        var budget = WebSocketConnection.turnBudget
        var messages = 0
        var bytes = 0
    }

    func deliverEvents() {
        var tally = DeliveryTally()
        // What arrives in one read arrives at one instant: the clock is read
        // once for all its messages.
        let now = Unmanaged.passUnretained(tcp)._withUnsafeGuaranteedRef { $0.loop.now }
        // Stop as soon as the WebSocket has ended (a handler may close it,
        // or a write inside a handler may find the peer gone).
        events: while lifecycle.phase != .ended, transportIsOpen {
            // A whole small message in one frame, the commonest input, skips
            // the event: nothing else happens with it in the session.
            if let (opcode, payload) = session.nextSmallMessage() {
                if !deliverMessage(payload, isText: opcode == .text, at: now, &tally) { break events }
                continue events
            }
            guard let lent = session.nextLentEvent() else { break events }
            // What the session queued while producing this event (a pong,
            // a close reply) goes out before anything the handler sends in
            // response to it: control frames keep their place in the stream.
            writeSessionBytes()
            let event: WebSocketEvent
            switch consume lent {
            case .message(let opcode, let payload, let compressed):
                // Lent: valid until the session is next asked for an event.
                let delivered: Bool
                if compressed {
                    guard let inflated = inflate(payload, isText: opcode == .text) else { continue }
                    delivered = inflated.withUnsafeBytes { deliverMessage($0, isText: opcode == .text, at: now, &tally) }
                } else {
                    delivered = deliverMessage(payload, isText: opcode == .text, at: now, &tally)
                }
                if !delivered { break events }
                continue events
            case .other(let other):
                event = other
            }
            switch consume event {
            case .message(let opcode, let payload, _):
                // Not produced by nextLentEvent; handled for completeness.
                if !payload.withUnsafeBytes({ deliverMessage($0, isText: opcode == .text, at: now, &tally) }) { break events }
            case .ping(let payload):
                sink.ping(self, payload)
            case .pong(let payload):
                sink.pong(self, payload)
            case .closed(let code, let reason):
                apply(.handshakeCompleted(code, reason: reason))
            case .failed(let code, let reason):
                context.log(.debug, "websocket protocol error", connection: tcp, route: settings.pattern,
                            ["code": "\(code.rawValue)", "reason": "\(reason)"])
                apply(.failed(code, reason: reason))
            }
            if tally.budget <= 0, lifecycle.phase != .ended, transportIsOpen {
                yieldTurn()
                break events
            }
        }
        if tally.messages > 0 {
            Unmanaged.passUnretained(context)._withUnsafeGuaranteedRef {
                $0.counts.add(messages: tally.messages, bytes: tally.bytes, .messagesReceived, .bytesReceived, route: settings.metricsIndex)
            }
        }
        writeSessionBytes()
        applyReadBackpressure()
        scheduleDeadline()
    }

    /// Hands one message to the handler and charges the turn's budget;
    /// returns `false` when the turn was yielded (stop delivering).
    func deliverMessage(_ payload: UnsafeRawBufferPointer, isText: Bool, at now: UInt64, _ tally: inout DeliveryTally) -> Bool {
        timers.messageArrived(now: now)
        tally.messages &+= 1
        tally.bytes &+= payload.count
        tally.budget -= max(payload.count, Self.turnCostPerMessage)
        settings.deliverMessage(self, payload, isText)
        if tally.budget <= 0, lifecycle.phase != .ended, transportIsOpen {
            yieldTurn()
            return false
        }
        return true
    }

    /// The turn's budget is spent: stop reading, and go on with what the
    /// session already holds on a later turn, after the loop has served
    /// its other connections.
    func yieldTurn() {
        guard !isYielding else { return }
        isYielding = true
        tcp.pauseReading()
        tcp.loop.execute { [self] in
            isYielding = false
            deliverEvents()
            resumeReadingIfAllowed()
        }
    }

    /// Reads again unless the turn was yielded or the peer still has more
    /// than half of `maxQueuedBytes` to read.
    func resumeReadingIfAllowed() {
        guard transportIsOpen, tcp.isReadingPaused, !isYielding, tcp.queuedByteCount <= configuration.maxQueuedBytes / 2 else { return }
        // A pong held up in the unread input is not the peer's fault.
        timers.readingResumed(now: tcp.loop.now)
        tcp.resumeReading()
        scheduleDeadline()
    }

    /// A peer that sends without reading what it is sent (an echo never
    /// read, requests whose replies pile up) is not read from while half of
    /// `maxQueuedBytes` waits for it: TCP flow control then slows it down,
    /// instead of the server working through its input to produce output
    /// nobody takes. Reading resumes once the queue has drained.
    func applyReadBackpressure() {
        let queued = tcp.queuedByteCount
        guard queued > 0, transportIsOpen, !tcp.isReadingPaused, queued > configuration.maxQueuedBytes / 2 else { return }
        tcp.pauseReading()
    }

    func connectionDidDrain(_ connection: TCPConnection) {
        resumeReadingIfAllowed()
    }

    /// Inflates a compressed message (RFC 7692 §7.2.2) within the size
    /// limit and checks its text; fails the connection and returns nil
    /// when it cannot: 1009 past `maxMessageSize` (a decompression bomb
    /// stops there), 1007 for text that is not UTF-8, 1002 for bytes that
    /// are not deflate data.
    func inflate(_ payload: UnsafeRawBufferPointer, isText: Bool) -> [UInt8]? {
        guard let decompressor = deflate?.decompressor(context.deflate) else {
            fail(.internalError, "no decompressor")
            return nil
        }
        context.deflate.inflations.add(1, ordering: .relaxed)
        let result = Result { () throws(DeflateError) in try decompressor.decompress(payload, limit: configuration.maxMessageSize) }
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
    func fail(_ code: WebSocketCloseCode, _ reason: String) {
        session.fail(code: code, reason: reason)
        apply(.failed(code, reason: reason))
    }

    /// Queues what the session must send (pongs, close frames). These go
    /// out even past `maxQueuedBytes`: they are small and the protocol
    /// needs them.
    func writeSessionBytes() {
        guard session.hasOutboundBytes else { return }
        let tcp = self.tcp
        session.sendOutboundBytes { count, write in tcp.write(count: count, write) }
    }
}
