import SwitchboardDeflate
import SwitchboardIO
import SwitchboardWire

/// Output: frames encoded (or shared, or compressed) into the connection's
/// queue, after the slow-consumer policy has admitted them.
extension WebSocketConnection {
    /// Sends an already encoded frame (shared by many connections).
    func send(frame: SharedBytes) -> SendResult {
        guard tcp.isOnLoopThread else {
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
        guard let deflate, let compression = configuration.compression,
              deflate.compresses(published.plain.count - published.headerSize, compression)
        else { return send(frame: published.plain) }
        return admit(published.plain.count) {
            published.withPayload { payload in
                if deflate.takesSharedFrames, let slot = published.compressed {
                    let shared = slot.frame { compressedFrame(published.opcode, payload, compression) }
                    tcp.write(shared ?? published.plain)
                } else {
                    writeCompressed(published.opcode, payload, deflate, compression, plain: published.plain)
                }
            }
        }
    }

    /// Encodes and sends one frame. On the loop the frame is encoded
    /// straight into the connection's output (the cork buffer when this
    /// runs inside its read callback); elsewhere it is encoded here and
    /// handed over, or, when it is to be compressed, handed over as is and
    /// compressed on the loop (whose streams are not thread-safe).
    @usableFromInline
    func send(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) -> SendResult {
        // The commonest send: a reply from inside this connection's read
        // callback, uncompressed, nothing queued. Straight into the loop's
        // cork buffer; nothing queued means the slow-consumer limit holds.
        // `isOpen` is the lifecycle's phase, readable from any thread, and
        // `reserveCork` finds out whether this is the loop's.
        if deflate == nil, isOpen {
            let size = WebSocketFrame.serverHeaderSize(payloadLength: payload.count) &+ payload.count
            if let target = Unmanaged.passUnretained(tcp)._withUnsafeGuaranteedRef({ $0.reserveCork(size) }) {
                WebSocketFrame.writeServerFrame(opcode: opcode, payload: payload, into: UnsafeMutableRawBufferPointer(start: target, count: size))
                Unmanaged.passUnretained(context)._withUnsafeGuaranteedRef {
                    $0.counts.add(message: size, .messagesSent, .bytesSent, route: settings.metricsIndex)
                }
                return .sent
            }
        }
        return sendQueuedOrCompressed(opcode, payload)
    }

    /// `send` when the frame cannot go straight into the cork. Out of line:
    /// the short way then needs no frame of this size.
    @inline(never)
    func sendQueuedOrCompressed(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) -> SendResult {
        // Without an agreement the configuration is not read (a copy of it
        // would retain what it holds).
        var compression: WebSocketCompression?
        if let deflate, let configured = configuration.compression, deflate.compresses(payload.count, configured) {
            compression = configured
        }
        let compresses = compression != nil
        guard tcp.isOnLoopThread else {
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
            // `tcp` lives as long as this connection: no retain per message.
            Unmanaged.passUnretained(tcp)._withUnsafeGuaranteedRef {
                _ = $0.write(count: size) { WebSocketFrame.writeServerFrame(opcode: opcode, payload: payload, into: $0) }
            }
        }
    }

    /// Writes `payload` compressed (RSV1, RFC 7692 §6), or plain when it
    /// does not shrink and no context is kept.
    func writeCompressed(
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

    func writePlain(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, _ plain: SharedBytes?) {
        if let plain {
            tcp.write(plain)
        } else {
            let size = WebSocketFrame.serverHeaderSize(payloadLength: payload.count) + payload.count
            tcp.write(count: size) { WebSocketFrame.writeServerFrame(opcode: opcode, payload: payload, into: $0) }
        }
    }

    /// The compressed frame a publish shares among its subscribers, or nil
    /// when compression does not make it smaller.
    func compressedFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, _ compression: WebSocketCompression) -> SharedBytes? {
        guard let compressor = context.deflate.compressor(windowBits: 15, settings: compression) else { return nil }
        return context.deflate.compress(payload, with: compressor) { compressed in
            compressed.map { SharedBytes.webSocketFrame(opcode, $0, compressed: true) }
        }
    }

    /// Applies the slow-consumer policy, then `write`s.
    @inline(__always)
    func admit(_ size: Int, _ write: () -> Void) -> SendResult {
        guard lifecycle.phase == .open, transportIsOpen else { return .dropped }
        let queued = tcp.queuedByteCount
        // Nothing queued (the usual case) admits without reading the limit.
        if queued > 0, queued + size > configuration.maxQueuedBytes {
            switch configuration.slowConsumerPolicy.kind {
            case .drop:
                dropped.wrappingAdd(1, ordering: .relaxed)
                context.counts.add(1, .slowConsumerDrops, route: settings.metricsIndex)
            case .close:
                context.counts.add(1, .slowConsumerCloses, route: settings.metricsIndex)
                close(code: .policyViolation, reason: "slow consumer")
            }
            return .dropped
        }
        Unmanaged.passUnretained(context)._withUnsafeGuaranteedRef {
            $0.counts.add(message: size, .messagesSent, .bytesSent, route: settings.metricsIndex)
        }
        write()
        // A write stall's deadline is armed when a flush leaves bytes
        // behind (`connectionWriteDidBlock`), not here: nearly every write
        // leaves whole in this turn's flush.
        return queued == 0 ? .sent : .buffered
    }

    func close(code: WebSocketCloseCode, reason: String) {
        guard tcp.isOnLoopThread else {
            tcp.loop.execute { self.close(code: code, reason: reason) }
            return
        }
        apply(.close(code, reason: reason))
    }
}
