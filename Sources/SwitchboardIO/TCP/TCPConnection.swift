internal import CLibUV
import Glibc
import Synchronization

/// A TCP connection owned by one event loop.
///
/// All methods must be called on the connection's loop thread (debug builds
/// assert it); from another thread, go through `loop.execute`. Writes are
/// queued and flushed once per loop turn as one gathered write, so many
/// small messages to one peer cost one system call.
///
/// Lifetime: the handle keeps the object alive from adoption until libuv's
/// close callback, then the delegate hears `connectionDidClose` and is
/// released. Closing is idempotent.
package final class TCPConnection: DeadlineMember, @unchecked Sendable {
    package let loop: EventLoop
    private let handle: UnsafeMutablePointer<uv_tcp_t>
    private var delegate: (any TCPConnectionDelegate)?
    // Loop-confined: no concurrent access is possible, so the runtime's
    // exclusivity checks (measured at ~17% of the echo path) are skipped
    // on the hot fields.
    @exclusivity(unchecked) private var queue = WriteQueue()
    private var writeRequest: UnsafeMutablePointer<uv_write_t>?
    private var writeInFlightBytes = 0
    @exclusivity(unchecked) private var isFlushScheduled = false
    /// Every way the connection can end goes through `apply(_:)`.
    @exclusivity(unchecked) private var lifecycle = ConnectionLifecycle()
    /// The delegate asked not to be given input for now (backpressure).
    private var isReadingPausedByDelegate = false
    /// Whether libuv is reading the socket for us.
    private var isReading = false

    var deadlineSlot = -1
    private(set) var deadline: UInt64?

    /// How long a gracefully closing connection waits for the peer: to
    /// take more of what is queued (measured from the last progress, so a
    /// slow reader gets everything), then for its FIN once all is sent.
    /// Closing with unread input makes the kernel send RST, which can
    /// destroy a response the peer has not read yet; waiting briefly for
    /// its FIN avoids that.
    static let lingerTimeout: UInt64 = 2_000

    /// Adopts an accepted socket on `loop`. Must run on `loop`'s thread.
    init(loop: EventLoop, socket: Int32) throws(IOError) {
        loop.assertInEventLoop()
        self.loop = loop
        handle = .allocate(capacity: 1)
        uv_tcp_init(loop.uvLoop, handle)
        let opened = uv_tcp_open(handle, uv_os_sock_t(socket))
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        loop.liveConnections.add(1, ordering: .relaxed)
        if opened < 0 {
            // The handle is initialised, so it must be closed like any other;
            // the socket was never handed to it.
            Glibc.close(socket)
            close()
            throw IOError(code: opened, operation: "uv_tcp_open")
        }
        // Small messages are the norm here; the write path already batches.
        uv_tcp_nodelay(handle, 1)
    }

    deinit {
        loop.liveConnections.subtract(1, ordering: .relaxed)
    }

    /// Adopts a socket accepted elsewhere (a host's own HTTP server handing
    /// a connection over). Must run on `loop`'s thread; the socket belongs
    /// to the connection from then on (closed on failure too).
    package static func adopt(socket: Int32, on loop: EventLoop) throws(IOError) -> TCPConnection {
        let connection = try TCPConnection(loop: loop, socket: socket)
        loop.acceptedConnections.add(1, ordering: .relaxed)
        return connection
    }

    private var stream: UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
    }

    private static func from(_ stream: UnsafeMutablePointer<uv_stream_t>?) -> TCPConnection {
        Unmanaged<TCPConnection>.fromOpaque(stream!.pointee.data).takeUnretainedValue()
    }

    /// Whether the connection still accepts writes.
    package var isOpen: Bool { lifecycle.acceptsWrites }

    /// Bytes queued and not yet handed to the kernel.
    package var queuedByteCount: Int { queue.byteCount }

    /// The peer's address as `host:port`, or `nil` when it cannot be read.
    package var remoteAddress: SocketAddress? {
        guard !lifecycle.isClosingOrClosed else { return nil }
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                uv_tcp_getpeername(handle, $0, &length)
            }
        }
        return result == 0 ? SocketAddress(storage) : nil
    }

    // MARK: Lifecycle

    /// The one place where the connection reacts to an event that can end
    /// it. The lifecycle moves first, so whatever runs below (a delegate
    /// call, a failing write) and nests another event sees the new phase.
    private func apply(_ event: ConnectionLifecycle.Event) {
        switch lifecycle.handle(event) {
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
            let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
            let result = uv_shutdown(request, stream) { request, _ in
                request!.deallocate()  // also runs, with ECANCELED, when the handle closes first
            }
            if result < 0 {
                request.deallocate()
                apply(.shutdownFailed)
            } else {
                updateReading()  // discard input until the peer's FIN
            }
        case .closeHandle:
            if loop.readingConnection === self { loop.corkedByteCount = 0 }  // dropped, like the queue
            loop.deadlines.untrack(self)
            deadline = nil
            isReading = false  // uv_close stops reading
            uv_close(asHandle(handle)) { handle in
                let connection = Unmanaged<TCPConnection>.fromOpaque(handle!.pointee.data).takeRetainedValue()
                connection.apply(.handleClosed)
            }
        case .finish:
            queue.removeAll()
            handle.deallocate()
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

    /// Loop time (ms) when the kernel last accepted queued bytes, or when
    /// the queue was last empty: a peer that stops reading shows up as a
    /// non-empty queue whose progress time stops moving. Loop-confined and
    /// written on every write and flush: unchecked, like the queue.
    @exclusivity(unchecked) package private(set) var lastWriteProgress: UInt64 = 0

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

    /// Starts or stops libuv's reading to match the phase and the pause.
    private func updateReading() {
        let wanted = lifecycle.phase == .lingering || (lifecycle.readsInput && !isReadingPausedByDelegate)
        guard wanted != isReading else { return }
        isReading = wanted
        guard wanted else {
            uv_read_stop(stream)
            return
        }
        uv_read_start(stream, { handle, _, buffer in
            // Every connection reads into its loop's one shared buffer.
            let loop = EventLoop.from(handle!.pointee.loop)
            buffer!.pointee = uv_buf_init(
                loop.readBuffer.baseAddress!.assumingMemoryBound(to: CChar.self),
                UInt32(loop.readBuffer.count)
            )
        }, { stream, count, buffer in
            TCPConnection.from(stream).didRead(count: count, buffer: buffer!.pointee)
        })
    }

    private func didRead(count: Int, buffer: uv_buf_t) {
        if count > 0 {
            guard lifecycle.deliversInput, let delegate else {
                apply(.discarded(byteCount: count))
                return
            }
            loop.readingConnection = self
            delegate.connection(self, didRead: UnsafeMutableRawBufferPointer(start: buffer.base, count: count))
            flushCork()
            loop.readingConnection = nil
        } else if count == Int(UV_EOF.rawValue) {
            isReading = false  // libuv stopped reading at the end of input
            apply(.endOfInput)
        } else if count < 0 {
            apply(.failed(code: Int32(count)))
        }
    }

    // MARK: Deadlines

    /// Calls the delegate's `connectionDeadlinePassed` after `milliseconds`
    /// (late by at most the loop's sweep interval, 50 ms). `nil` cancels.
    /// Only while open: a closing connection keeps its linger deadline.
    package func setDeadline(after milliseconds: UInt64?) {
        loop.assertInEventLoop()
        guard lifecycle.acceptsWrites else { return }
        guard let milliseconds else {
            deadline = nil
            loop.deadlines.untrack(self)
            return
        }
        deadline = loop.now + milliseconds
        loop.deadlines.track(self)
    }

    /// Called by the loop's sweep, which has already untracked us.
    func deadlinePassed() {
        deadline = nil
        // A graceful close gives up on a peer that stopped reading, not on
        // one that reads slowly: while the queue still moves, wait on.
        if lifecycle.phase == .flushing, loop.now < lastWriteProgress + Self.lingerTimeout {
            deadline = lastWriteProgress + Self.lingerTimeout
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
        if loop.readingConnection === self, count <= EventLoop.corkCapacity {
            if loop.corkedByteCount + count > EventLoop.corkCapacity { flushCork() }
            // The flush may have failed and closed the connection.
            if lifecycle.acceptsWrites, queue.isEmpty, writeRequest == nil {
                let start = loop.corkedByteCount
                fill(UnsafeMutableRawBufferPointer(rebasing: loop.corkBuffer[start..<(start + count)]))
                loop.corkedByteCount += count
                return true
            }
        }
        return write(SharedBytes(count: count, initialize: fill))
    }

    /// Writes the corked bytes: straight to the kernel when it takes them,
    /// otherwise the rest is queued behind an asynchronous write. Only in
    /// this connection's read callback, which owns the cork buffer.
    private func flushCork() {
        let count = loop.corkedByteCount
        guard count > 0, loop.readingConnection === self else { return }
        loop.corkedByteCount = 0
        guard lifecycle.sendsQueuedBytes, queue.isEmpty, writeRequest == nil else { return }
        var buffer = uv_buf_init(loop.corkBuffer.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(count))
        let written = switchboard_stream_send(stream, &buffer, 1)
        if written < 0, written != Int(UV_EAGAIN.rawValue) {
            apply(.failed(code: Int32(written)))
            return
        }
        let taken = max(written, 0)
        lastWriteProgress = loop.now
        if taken < count {
            queue.append(SharedBytes(UnsafeRawBufferPointer(rebasing: loop.corkBuffer[taken..<count])))
            startAsyncWrite()
        }
    }

    /// Queues `bytes`; they leave in this loop turn's gathered write.
    /// Returns `false` when the connection no longer accepts writes.
    @discardableResult
    package func write(_ bytes: SharedBytes) -> Bool {
        loop.assertInEventLoop()
        guard lifecycle.acceptsWrites else { return false }
        if loop.readingConnection === self {
            // Corked bytes were written first: they must leave first. The
            // flush may fail and close the connection.
            flushCork()
            guard lifecycle.acceptsWrites else { return false }
        }
        if queue.isEmpty { lastWriteProgress = loop.now }
        queue.append(bytes)
        scheduleFlush()
        return true
    }

    private func scheduleFlush() {
        guard !isFlushScheduled, writeRequest == nil else { return }
        isFlushScheduled = true
        loop.scheduleFlush(self)
    }

    /// Hands queued bytes to the kernel: first with one direct `sendmsg`
    /// (no request, no callback), and when the socket is full, with one
    /// `uv_write` that libuv completes once the socket is writable.
    func flush() {
        isFlushScheduled = false
        guard writeRequest == nil, lifecycle.sendsQueuedBytes else { return }
        while !queue.isEmpty {
            let (count, total) = queue.gather(into: loop.gatherBuffers, capacity: EventLoop.gatherCapacity)
            let written = switchboard_stream_send(stream, loop.gatherBuffers, UInt32(count))
            if written == Int(UV_EAGAIN.rawValue) {
                startAsyncWrite()
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
                startAsyncWrite()
                writeDidBlock()
                return
            }
        }
        apply(.drained)
    }

    /// Bytes are left for an asynchronous write: the delegate may start a
    /// write-stall clock now (and need not on every write that the same
    /// turn's flush hands to the kernel whole).
    private func writeDidBlock() {
        guard lifecycle.acceptsWrites else { return }
        delegate?.connectionWriteDidBlock(self)
    }

    /// Bytes one asynchronous write covers at most. Its completion is when
    /// write progress is recorded (what a write-stall timeout measures), so
    /// a peer that reads steadily but slowly must be able to finish one
    /// well within such a timeout: 256 KiB is 85 ms at 3 MiB/s.
    static let asyncWriteLimit = 256 * 1024

    private func startAsyncWrite() {
        let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        let (count, total) = queue.gather(into: loop.gatherBuffers, capacity: EventLoop.gatherCapacity, maxBytes: Self.asyncWriteLimit)
        writeInFlightBytes = total
        writeRequest = request
        let result = uv_write(request, stream, loop.gatherBuffers, UInt32(count)) { request, status in
            // The handle holds the connection until its close callback,
            // which libuv runs after every write callback.
            let connection = Unmanaged<TCPConnection>.fromOpaque(request!.pointee.data).takeUnretainedValue()
            request!.deallocate()
            connection.asyncWriteDidComplete(status: status)
        }
        if result < 0 {
            writeRequest = nil
            request.deallocate()
            apply(.failed(code: result))
        }
    }

    private func asyncWriteDidComplete(status: Int32) {
        writeRequest = nil
        if status < 0 {
            // ECANCELED: the handle is closing, which the lifecycle ignores.
            apply(.failed(code: status))
            return
        }
        queue.consume(writeInFlightBytes)
        writeInFlightBytes = 0
        lastWriteProgress = loop.now
        flush()
    }

    // MARK: Closing

    /// Sends everything queued, then closes: FIN, then a short wait for the
    /// peer's FIN (see `lingerTimeout`). No further writes are accepted.
    package func closeAfterFlush() {
        loop.assertInEventLoop()
        // Corked bytes go first; sending them may fail and close.
        if loop.readingConnection === self { flushCork() }
        guard lifecycle.acceptsWrites else { return }
        apply(.closeAfterFlush(queueIsEmpty: queue.isEmpty && writeRequest == nil))
    }

    private func armLingerDeadline() {
        deadline = loop.now + Self.lingerTimeout
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
            + "writing: \(writeRequest != nil), reading: \(isReading), paused: \(isReadingPausedByDelegate), "
            + "deadline: \(deadline.map { "\(Int64($0) - Int64(loop.now)) ms" } ?? "none"), delegate: \(delegateName))"
    }
}
