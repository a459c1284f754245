internal import CLibUV
import Glibc
package import Synchronization

/// A TCP connection owned by one event loop.
///
/// All methods must be called on the connection's loop thread (debug builds
/// assert it); from another thread, go through `loop.execute`. Writes are
/// queued and flushed once per loop turn as one gathered write, so many
/// small messages to one peer cost one system call.
///
/// I/O: the loop's `SocketWatcher` (one epoll set, where the loop waits) says
/// when the socket is ready, and the connection does its own `recv` into
/// the loop's read buffer, `send`/`sendmsg` of its queue, and `shutdown`:
/// the same system calls libuv's stream would make, without a 248-byte
/// `uv_tcp_t` (or a 160-byte `uv_poll_t`) in every connection and without
/// write requests.
///
/// Lifetime: the watcher's table keeps the object alive from adoption
/// until the end of the loop turn in which it closed, then the delegate hears
/// `connectionDidClose` and is released. Closing is idempotent.
package final class TCPConnection: DeadlineMember, @unchecked Sendable {
    // Stored properties in this order pack into 109 bytes (125 with the
    // object's header: a 144-byte malloc chunk; every connection has one):
    // words first, then the 9-byte peer, the flags, the 4-byte fields.
    package let loop: EventLoop
    private var delegate: (any TCPConnectionDelegate)?
    // Loop-confined: no concurrent access is possible, so the runtime's
    // exclusivity checks (measured at ~17% of the echo path) are skipped
    // on the hot fields.
    @exclusivity(unchecked) private var queue = WriteQueue()
    /// Loop time (ms) of the deadline; `UInt64.max`: none (no optional's
    /// extra byte and padding in every connection).
    private var deadlineTime = UInt64.max
    /// Loop time (ms) when the kernel last accepted queued bytes, or when
    /// the queue was last empty: a peer that stops reading shows up as a
    /// non-empty queue whose progress time stops moving. Loop-confined and
    /// written on every write and flush: unchecked, like the queue.
    @exclusivity(unchecked) private var lastWriteProgress: UInt64 = 0
    /// The peer, as accepted: readable after the connection closed too.
    package let peer: PeerAddress
    /// The socket was full: the rest of the queue waits for it to be writable.
    @exclusivity(unchecked) private var isWaitingForWritable = false
    @exclusivity(unchecked) private var isFlushScheduled = false
    /// The delegate asked not to be given input for now (backpressure).
    private var isReadingPausedByDelegate = false
    /// Whether the poll watches for input.
    @exclusivity(unchecked) private var isReading = false
    /// Every way the connection can end goes through `apply(_:)`.
    @exclusivity(unchecked) private var lifecycle = ConnectionLifecycle()
    /// The events the loop's epoll set watches now (`SWITCHBOARD_EPOLL_IN`,
    /// `_OUT`); 0: the socket is not in the set.
    @exclusivity(unchecked) private var polledEvents: UInt32 = 0
    var deadlineSlot: Int32 = -1
    let socket: Int32
    /// `isOpen` as a stored value, kept by `apply(_:)`: another module
    /// reads it without a call (a `package` getter is never inlined across
    /// modules), as a WebSocket does after every message it delivers.
    /// Fits the object's malloc chunk with room to spare (124 -> 125 bytes).
    package let openFlag = Atomic<Bool>(true)

    var deadline: UInt64? { deadlineTime == .max ? nil : deadlineTime }

    /// How long a gracefully closing connection waits for the peer: to
    /// take more of what is queued (measured from the last progress, so a
    /// slow reader gets everything), then for its FIN once all is sent.
    /// Closing with unread input makes the kernel send RST, which can
    /// destroy a response the peer has not read yet; waiting briefly for
    /// its FIN avoids that.
    static let lingerTimeout: UInt64 = 2_000


    /// Adopts an accepted, non-blocking socket on `loop`. Must run on
    /// `loop`'s thread.
    init(loop: EventLoop, socket: Int32, peer: PeerAddress) {
        loop.assertInEventLoop()
        self.loop = loop
        self.peer = peer
        self.socket = socket
        loop.liveConnections.add(1, ordering: .relaxed)
        loop.watcher.add(self, socket: socket)
    }

    /// Small messages are the norm here, and the write path already
    /// batches. Accepted sockets inherit it from the listening one (Linux).
    static func disableNagle(_ socket: Int32) {
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit {
        loop.liveConnections.subtract(1, ordering: .relaxed)
    }

    /// Adopts a socket accepted elsewhere (a host's own HTTP server handing
    /// a connection over). Must run on `loop`'s thread; the socket belongs
    /// to the connection from then on (closed on failure too).
    package static func adopt(socket: Int32, on loop: EventLoop) throws(IOError) -> TCPConnection {
        // Only a stream socket can be one (epoll would take a pipe too).
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(socket, SOL_SOCKET, SO_TYPE, &type, &length) < 0 {
            let code = errno
            // Not open: the number may be another connection's by now.
            if code != EBADF { Glibc.close(socket) }
            throw IOError(code: -code, operation: "adopt")
        }
        guard type == Int32(SOCK_STREAM.rawValue) else {
            Glibc.close(socket)
            throw IOError(code: -ENOTSOCK, operation: "adopt")
        }
        // Accepted elsewhere, maybe blocking: this loop must never wait on it.
        let flags = fcntl(socket, F_GETFL)
        if flags >= 0, flags & O_NONBLOCK == 0 { _ = fcntl(socket, F_SETFL, flags | O_NONBLOCK) }
        disableNagle(socket)
        let connection = TCPConnection(loop: loop, socket: socket, peer: PeerAddress(ofSocket: socket))
        loop.acceptedConnections.add(1, ordering: .relaxed)
        return connection
    }

    /// Whether the connection still accepts writes.
    package var isOpen: Bool { openFlag.load(ordering: .relaxed) }

    /// Bytes queued and not yet handed to the kernel.
    package var queuedByteCount: Int { queue.byteCount }

    /// The peer's address, as the kernel gave it when the connection was
    /// accepted (`nil` when it could not say).
    package var remoteAddress: SocketAddress? { peer.socketAddress }

    // MARK: Lifecycle

    /// The one place where the connection reacts to an event that can end
    /// it. The lifecycle moves first, so whatever runs below (a delegate
    /// call, a failing write) and nests another event sees the new phase.
    private func apply(_ event: ConnectionLifecycle.Event) {
        let action = lifecycle.handle(event)
        if !lifecycle.acceptsWrites {
            openFlag.store(false, ordering: .relaxed)
            stopCorking()
        }
        switch action {
        case .none:
            break
        case .deliverEndOfInput:
            delegate?.connectionDidReachEndOfInput(self)
        case .deliverDeadline:
            delegate?.connectionDeadlinePassed(self)
        case .deliverDrained:
            delegate?.connectionDidDrain(self)
        case .startFlushing:
            armLingerDeadline()
            updateReading()
        case .startLingering:
            armLingerDeadline()
            // Everything is sent: FIN now, then discard input until the peer's.
            if Glibc.shutdown(socket, Int32(SHUT_WR)) < 0 {
                apply(.shutdownFailed)
            } else {
                updateReading()
            }
        case .closeSocket:
            if isReadingConnection { loop.corkedByteCount = 0 }  // dropped, like the queue
            loop.deadlines.untrack(self)
            deadlineTime = .max
            isReading = false
            isWaitingForWritable = false
            let wasWatched = polledEvents != 0
            polledEvents = 0
            loop.watcher.close(self, socket: socket, isWatched: wasWatched)
        case .finish:
            queue.removeAll()
            let delegate = self.delegate
            self.delegate = nil
            let code = lifecycle.errorCode
            delegate?.connectionDidClose(self, error: code == 0 ? nil : IOError(code: code, operation: "connection"))
        }
    }

    // MARK: Reading

    /// Sets the delegate and starts delivering reads to it.
    package func start(delegate: any TCPConnectionDelegate) {
        loop.assertInEventLoop()
        self.delegate = delegate
        resumeReading()
    }

    /// The current delegate (to find connections of a kind at shutdown).
    package var currentDelegate: (any TCPConnectionDelegate)? { delegate }

    /// Hands the connection to another delegate (a protocol upgrade). Reads
    /// continue with the new delegate.
    package func replaceDelegate(with delegate: any TCPConnectionDelegate) {
        loop.assertInEventLoop()
        self.delegate = delegate
    }


    /// Stops delivering input (backpressure): the kernel's receive buffer
    /// fills and TCP flow control slows the peer down.
    package func pauseReading() {
        loop.assertInEventLoop()
        isReadingPausedByDelegate = true
        updateReading()
    }

    /// Delivers input again after `pauseReading()`.
    package func resumeReading() {
        loop.assertInEventLoop()
        isReadingPausedByDelegate = false
        updateReading()
    }

    /// Whether the delegate has paused reading.
    package var isReadingPaused: Bool { isReadingPausedByDelegate }

    /// Starts or stops watching for input to match the phase and the pause.
    private func updateReading() {
        // After the end of input the socket stays readable (for 0 bytes).
        isReading = !lifecycle.peerFinished
            && (lifecycle.phase == .lingering || (lifecycle.readsInput && !isReadingPausedByDelegate))
        updatePolling()
    }

    /// Whether this connection's read callback is running (its writes go
    /// to the loop's cork buffer).
    private var isReadingConnection: Bool {
        loop.readingConnection == Unmanaged.passUnretained(self).toOpaque()
    }

    /// Its writes go to the cork buffer from now on only through a flush:
    /// something is queued, or it stopped accepting writes.
    private func stopCorking() {
        if loop.corkingConnection == Unmanaged.passUnretained(self).toOpaque() { loop.corkingConnection = nil }
    }

    /// Reads now, without waiting for the epoll set to report input: for a
    /// connection accepted with its first bytes (`TCP_DEFER_ACCEPT`). A read
    /// that finds nothing costs one `recv` (EAGAIN); input then comes as
    /// usual.
    func readAtOnce() {
        if isReading { readOnce(peerFinishedSending: false) }
    }


    /// Whether the caller runs on the connection's loop thread. Asked of
    /// the connection rather than of `loop` from another module: that would
    /// retain and release the loop (atomically) at every send.
    package var isOnLoopThread: Bool { loop.inEventLoop }

    /// Points the loop's epoll set at what the connection waits for now:
    /// input while reading, room in the socket while queued bytes wait.
    private func updatePolling() {
        guard !lifecycle.isClosingOrClosed else { return }
        var events: UInt32 = 0
        // RDHUP: the peer's FIN is reported with the input before it, so
        // the read that drains it can end the input too (`readOnce`).
        if isReading { events |= UInt32(SWITCHBOARD_EPOLL_IN) | UInt32(SWITCHBOARD_EPOLL_RDHUP) }
        if isWaitingForWritable { events |= UInt32(SWITCHBOARD_EPOLL_OUT) }
        guard events != polledEvents else { return }
        let result = loop.watcher.watch(self, socket: socket, events: events, previous: polledEvents)
        if result < 0 {
            // Out of kernel memory, mostly: without readiness the connection
            // could never move again.
            apply(.failed(code: result))
            return
        }
        polledEvents = events
    }

    /// The loop's epoll set reported the socket (`SocketWatcher`). Events
    /// the connection no longer waits for (it closed or changed its mind
    /// earlier in the same batch) are ignored.
    func socketDidBecomeReady(_ flags: UInt32) {
        guard polledEvents != 0 else { return }
        if flags & UInt32(SWITCHBOARD_EPOLL_ERR) != 0 {
            // The socket's own error (a reset, mostly) says what happened.
            let error = switchboard_socket_error(socket)
            apply(.failed(code: error < 0 ? error : -EIO))
            return
        }
        // A hang-up alone is reported whatever was asked: the read or write
        // that follows finds out what it means (as libuv does; with input
        // still to read, reading comes first).
        let hangUp = flags & UInt32(SWITCHBOARD_EPOLL_HUP) != 0
            && flags & (UInt32(SWITCHBOARD_EPOLL_IN) | UInt32(SWITCHBOARD_EPOLL_OUT)) == 0
        if hangUp || flags & UInt32(SWITCHBOARD_EPOLL_OUT) != 0, isWaitingForWritable {
            isWaitingForWritable = false
            flush()
            if lifecycle.isClosingOrClosed { return }
            updatePolling()
        }
        if hangUp || flags & UInt32(SWITCHBOARD_EPOLL_IN) != 0, isReading {
            readOnce(peerFinishedSending: flags & (UInt32(SWITCHBOARD_EPOLL_HUP) | UInt32(SWITCHBOARD_EPOLL_RDHUP)) != 0)
        }
    }

    /// The watcher closed the socket earlier in this turn: the end reaches
    /// the delegate now.
    func socketDidClose() {
        apply(.socketClosed)
    }

    /// One `recv` into the loop's read buffer: readiness is level-triggered,
    /// so what is left is reported again on the next turn, after the
    /// loop's other connections.
    ///
    /// `peerFinishedSending`: the peer's FIN had arrived when the socket was
    /// reported (RDHUP or HUP), so everything it sent was already queued: a
    /// read that does not fill the buffer has drained it, and the end of
    /// input is handled at once instead of by one more `recv` (and often
    /// one more turn) that would return 0.
    private func readOnce(peerFinishedSending: Bool) {
        let buffer = loop.readBuffer
        let count = switchboard_receive(socket, buffer.baseAddress!, buffer.count)
        if count > 0 {
            if lifecycle.deliversInput, let delegate {
                let me = Unmanaged.passUnretained(self).toOpaque()
                loop.readingConnection = me
                if lifecycle.acceptsWrites, queue.isEmpty, !isWaitingForWritable { loop.corkingConnection = me }
                delegate.connection(self, didRead: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]))
                flushCork()
                loop.readingConnection = nil
                loop.corkingConnection = nil
            } else {
                apply(.discarded(byteCount: count))
            }
            // Still reading: neither closed nor paused by the delegate.
            if peerFinishedSending, count < buffer.count, isReading {
                inputEnded()
            }
        } else if count == 0 {
            inputEnded()
        } else if count != Int(UV_EAGAIN.rawValue) {
            apply(.failed(code: Int32(count)))
        }
    }

    private func inputEnded() {
        isReading = false  // nothing more will come
        apply(.endOfInput)
        // Unless that closed the connection (whose close removes the
        // socket anyway: one system call fewer), stop watching for input.
        updatePolling()
    }

    // MARK: Deadlines

    /// Calls the delegate's `connectionDeadlinePassed` after `milliseconds`
    /// (late by at most the loop's sweep interval, 50 ms). `nil` cancels.
    /// Only while open: a closing connection keeps its linger deadline.
    package func setDeadline(after milliseconds: UInt64?) {
        loop.assertInEventLoop()
        guard lifecycle.acceptsWrites else { return }
        guard let milliseconds else {
            deadlineTime = .max
            loop.deadlines.untrack(self)
            return
        }
        deadlineTime = loop.now + milliseconds
        loop.deadlines.track(self)
    }

    /// `setDeadline(after:)` for an instant of the loop's clock (`loop.now`
    /// scale); one already past fires at the next sweep. Spares a caller in
    /// another module the clock read (and the retain of the loop it costs).
    package func setDeadline(at instant: UInt64?) {
        loop.assertInEventLoop()
        guard lifecycle.acceptsWrites else { return }
        guard let instant else {
            deadlineTime = .max
            loop.deadlines.untrack(self)
            return
        }
        deadlineTime = instant
        // The sweep lives as long as the loop: no retain per read.
        Unmanaged.passUnretained(loop.deadlines)._withUnsafeGuaranteedRef { $0.track(self) }
    }

    /// The output as a protocol's timers see it, in one call (another
    /// module reading `lastWriteProgress` pays a dynamic exclusivity check):
    /// whether bytes wait, when the peer last took some, whether input is
    /// paused.
    package var outputState: (hasQueuedBytes: Bool, lastWriteProgress: UInt64, isReadingPaused: Bool) {
        (!queue.isEmpty, lastWriteProgress, isReadingPausedByDelegate)
    }

    /// Called by the loop's sweep, which has already untracked us.
    func deadlinePassed() {
        deadlineTime = .max
        // A graceful close gives up on a peer that stopped reading, not on
        // one that reads slowly: while the queue still moves, wait on.
        if lifecycle.phase == .flushing, loop.now < lastWriteProgress + Self.lingerTimeout {
            deadlineTime = lastWriteProgress + Self.lingerTimeout
            loop.deadlines.track(self)
            return
        }
        apply(.deadlinePassed)
    }

    // MARK: Writing

    /// Writes `count` bytes that `fill` produces. Inside this connection's
    /// own read callback they are copied into the loop's cork buffer and
    /// leave in one write when the callback returns; anywhere else they go
    /// into a new buffer on the queue. Returns `false` when the connection
    /// no longer accepts writes.
    @discardableResult
    package func write(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        loop.assertInEventLoop()
        guard lifecycle.acceptsWrites else { return false }
        if let target = reserveCork(count) {
            fill(UnsafeMutableRawBufferPointer(start: target, count: count))
            return true
        }
        if isReadingConnection, count <= EventLoop.corkCapacity, loop.corkedByteCount > 0 {
            // The cork is too full for these bytes: what it holds leaves
            // first (and may fail and close the connection).
            flushCork()
            if let target = reserveCork(count) {
                fill(UnsafeMutableRawBufferPointer(start: target, count: count))
                return true
            }
            guard lifecycle.acceptsWrites else { return false }
        }
        return write(SharedBytes(count: count, initialize: fill))
    }

    /// Room for `count` bytes at the end of the loop's cork buffer, already
    /// counted as written, when they can go there now: the caller is on the
    /// loop thread, this connection's read callback is running, nothing of
    /// its is queued, and they fit. The caller fills all of it before
    /// anything else writes. Nil (nothing reserved) otherwise, from any
    /// thread: `write(count:_:)` on the loop then does what is needed.
    /// A pointer rather than a closure, and the thread check inside: the
    /// WebSocket reply path (another module, which cannot inline this)
    /// pays one plain call.
    package func reserveCork(_ count: Int) -> UnsafeMutableRawPointer? {
        guard loop.inEventLoop, loop.corkingConnection == Unmanaged.passUnretained(self).toOpaque() else { return nil }
        let start = loop.corkedByteCount
        guard count <= EventLoop.corkCapacity &- start else { return nil }
        loop.corkedByteCount = start &+ count
        return loop.corkBuffer.baseAddress.unsafelyUnwrapped + start
    }

    /// Writes the corked bytes: straight to the kernel when it takes them,
    /// otherwise the rest is queued until the socket is writable. Only in
    /// this connection's read callback, which owns the cork buffer.
    /// `beforeShutdown`: nothing else is queued and FIN follows at once
    /// when these bytes are all taken (see `switchboard_send`).
    private func flushCork(beforeShutdown: Bool = false) {
        let count = loop.corkedByteCount
        guard count > 0, isReadingConnection else { return }
        loop.corkedByteCount = 0
        guard lifecycle.sendsQueuedBytes, queue.isEmpty, !isWaitingForWritable else { return }
        var buffer = uv_buf_init(loop.corkBuffer.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(count))
        let written = switchboard_send(socket, &buffer, 1, beforeShutdown)
        if written < 0, written != Int(UV_EAGAIN.rawValue) {
            apply(.failed(code: Int32(written)))
            return
        }
        let taken = max(written, 0)
        lastWriteProgress = loop.now
        if taken < count {
            queue.append(SharedBytes(UnsafeRawBufferPointer(rebasing: loop.corkBuffer[taken..<count])))
            stopCorking()
            waitForWritable()
        }
    }

    /// Queues `bytes`; they leave in this loop turn's gathered write.
    /// Returns `false` when the connection no longer accepts writes.
    @discardableResult
    package func write(_ bytes: SharedBytes) -> Bool {
        loop.assertInEventLoop()
        guard lifecycle.acceptsWrites else { return false }
        if isReadingConnection {
            // Corked bytes were written first: they must leave first. The
            // flush may fail and close the connection. Nothing written
            // later may overtake these through the cork.
            flushCork()
            stopCorking()
            guard lifecycle.acceptsWrites else { return false }
        }
        if queue.isEmpty { lastWriteProgress = loop.now }
        queue.append(bytes)
        scheduleFlush()
        return true
    }

    private func scheduleFlush() {
        guard !isFlushScheduled, !isWaitingForWritable else { return }
        isFlushScheduled = true
        loop.scheduleFlush(self)
    }

    /// Hands queued bytes to the kernel with direct `sendmsg`s (no request,
    /// no callback); when the socket is full, the rest waits for the poll
    /// to report it writable.
    func flush() {
        isFlushScheduled = false
        guard !isWaitingForWritable, lifecycle.sendsQueuedBytes else { return }
        while !queue.isEmpty {
            let (count, total) = queue.gather(into: loop.gatherBuffers, capacity: EventLoop.gatherCapacity)
            // While flushing, FIN follows the last bytes (`.drained`).
            let written = switchboard_send(socket, loop.gatherBuffers, UInt32(count), lifecycle.phase == .flushing)
            if written == Int(UV_EAGAIN.rawValue) {
                waitForWritable()
                writeDidBlock()
                return
            }
            if written < 0 {
                apply(.failed(code: Int32(written)))
                return
            }
            queue.consume(written)
            if written > 0 { lastWriteProgress = loop.now }
            if written < total {
                waitForWritable()
                writeDidBlock()
                return
            }
        }
        apply(.drained)
    }

    private func waitForWritable() {
        isWaitingForWritable = true
        stopCorking()
        updatePolling()
    }

    /// Bytes are left for the socket to take later: the delegate may start
    /// a write-stall clock now (and need not on every write that the same
    /// turn's flush hands to the kernel whole).
    private func writeDidBlock() {
        guard lifecycle.acceptsWrites else { return }
        delegate?.connectionWriteDidBlock(self)
    }

    // MARK: Closing

    /// Sends everything queued, then closes: FIN, then a short wait for the
    /// peer's FIN (see `lingerTimeout`). No further writes are accepted.
    package func closeAfterFlush() {
        loop.assertInEventLoop()
        // Corked bytes go first; sending them may fail and close. With
        // nothing queued behind them, FIN follows in the same segment.
        if isReadingConnection { flushCork(beforeShutdown: queue.isEmpty && !isWaitingForWritable) }
        guard lifecycle.acceptsWrites else { return }
        apply(.closeAfterFlush(queueIsEmpty: queue.isEmpty && !isWaitingForWritable))
    }

    private func armLingerDeadline() {
        deadlineTime = loop.now + Self.lingerTimeout
        loop.deadlines.track(self)
    }

    /// Closes at once; queued bytes are dropped. Idempotent.
    package func close() {
        loop.assertInEventLoop()
        apply(.close)
    }
}

extension TCPConnection: CustomStringConvertible {
    /// The state a leak or a stuck connection is diagnosed from (on its loop).
    package var description: String {
        let delegateName = delegate.map { String(describing: type(of: $0)) } ?? "none"
        return "TCPConnection(loop: \(loop.index), phase: \(lifecycle.phase), queued: \(queue.byteCount), "
            + "waiting to write: \(isWaitingForWritable), reading: \(isReading), paused: \(isReadingPausedByDelegate), "
            + "deadline: \(deadline.map { "\(Int64($0) - Int64(loop.now)) ms" } ?? "none"), delegate: \(delegateName))"
    }
}
