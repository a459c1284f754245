internal import CLibUV
import Glibc
import Synchronization
import SwitchboardSync

/// One libuv loop running on its own thread.
///
/// Everything a connection does (reads, writes, timers, handler callbacks)
/// runs on the thread of the loop it belongs to, so the per-connection path
/// needs no locks. Other threads reach a loop only through ``execute(_:)``:
/// a locked task list plus one `uv_async_t`, so a burst of tasks from any
/// number of threads costs the loop a single wake-up.
///
/// Loop-bound state (everything but `execute` and `inEventLoop`) must only
/// be touched on the loop's thread; debug builds assert it.
public final class EventLoop: @unchecked Sendable {
    /// The loop's position in its group (0-based), useful for stats and logs.
    public let index: Int

    let uvLoop: UnsafeMutablePointer<uv_loop_t>
    private let wakeUp: UnsafeMutablePointer<uv_async_t>
    private let tasks = Locked(TaskList())
    private var thread = uv_thread_t()
    private let threadID = Atomic<UInt>(0)

    /// One receive buffer shared by every connection of this loop: libuv
    /// reads into it and the callback consumes it before the next read, so
    /// an idle connection owns no receive buffer at all.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Replies written by a connection from inside its own read callback
    /// are copied here and leave in one write when the callback returns
    /// ("corking"): many frames answered per wake-up cost one system call
    /// and no allocation. Only what the kernel refuses is queued.
    let corkBuffer: UnsafeMutableRawBufferPointer
    static let corkCapacity = 16 * 1024
    /// Bytes in `corkBuffer`, all belonging to `readingConnection`.
    @exclusivity(unchecked) var corkedByteCount = 0
    /// The connection whose read callback is running, if any: its address,
    /// only ever compared (`TCPConnection.isReadingConnection`), so no write
    /// retains and releases it (a reference, even `unowned(unsafe)`, was
    /// retained at each comparison).
    @exclusivity(unchecked) var readingConnection: UnsafeMutableRawPointer?
    /// `readingConnection` while its writes may go straight into the cork
    /// buffer: it accepts writes and has nothing queued (nothing written
    /// must overtake it). Cleared as soon as either stops being true, so the
    /// reply path checks one address (`TCPConnection.reserveCork`).
    @exclusivity(unchecked) var corkingConnection: UnsafeMutableRawPointer?

    /// Scratch space to gather queued buffers into one `sendmsg`.
    let gatherBuffers: UnsafeMutablePointer<uv_buf_t>
    static let gatherCapacity = 64

    @exclusivity(unchecked) private var pendingFlushes: [TCPConnection] = []
    /// The epoll set every connection socket of this loop is watched by.
    let watcher: SocketWatcher
    private var resources: [ObjectIdentifier: any LoopResource] = [:]
    let deadlines: DeadlineSweep

    /// Connections accepted onto this loop so far (tests check the spread).
    let acceptedConnections = Atomic<Int>(0)
    package var acceptedConnectionCount: Int { acceptedConnections.load(ordering: .relaxed) }

    /// `TCPConnection` objects of this loop still alive. Unlike open
    /// handles, this also catches a connection kept alive by a retain
    /// cycle after it closed: leak tests assert it returns to zero.
    let liveConnections = Atomic<Int>(0)
    package var liveConnectionCount: Int { liveConnections.load(ordering: .relaxed) }

    /// What happened when the loop was closed; set once the thread has ended.
    package private(set) var closeReport: LoopCloseReport?

    init(index: Int, readBufferSize: Int) throws(IOError) {
        self.index = index
        // See `runTurns`.
        guard uv_version() >= 0x01_2C_00 else { throw IOError(code: -ENOTSUP, operation: "libuv 1.44 or later") }
        let uvLoop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        let initialised = uv_loop_init(uvLoop)
        guard initialised == 0 else {
            uvLoop.deallocate()
            throw IOError(code: initialised, operation: "uv_loop_init")
        }
        do {
            watcher = try SocketWatcher(uvLoop: uvLoop)
        } catch {
            uv_loop_close(uvLoop)
            uvLoop.deallocate()
            throw error
        }
        self.uvLoop = uvLoop
        wakeUp = .allocate(capacity: 1)
        readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
        corkBuffer = .allocate(byteCount: Self.corkCapacity, alignment: 16)
        gatherBuffers = .allocate(capacity: Self.gatherCapacity)
        deadlines = DeadlineSweep()
        let me = Unmanaged.passUnretained(self).toOpaque()
        uvLoop.pointee.data = me
        // Neither call can fail on an initialised loop (libuv only fails
        // uv_async_init when it cannot create its eventfd).
        try check(uv_async_init(uvLoop, wakeUp, { handle in
            EventLoop.from(handle!.pointee.loop).runQueuedTasks()
        }), "uv_async_init")
        wakeUp.pointee.data = me
        deadlines.attach(to: self)
    }

    deinit {
        freeMemory()
    }

    private func freeMemory() {
        uvLoop.deallocate()
        wakeUp.deallocate()
        readBuffer.deallocate()
        corkBuffer.deallocate()
        gatherBuffers.deallocate()
    }

    static func from(_ loop: UnsafeMutablePointer<uv_loop_t>?) -> EventLoop {
        Unmanaged<EventLoop>.fromOpaque(loop!.pointee.data).takeUnretainedValue()
    }

    // MARK: Thread

    func startThread() throws(IOError) {
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = uv_thread_create(&thread, { context in
            let loop = Unmanaged<EventLoop>.fromOpaque(context!).takeRetainedValue()
            loop.runOnThisThread()
        }, context)
        if result != 0 {
            Unmanaged<EventLoop>.fromOpaque(context).release()
            throw IOError(code: result, operation: "uv_thread_create")
        }
    }

    private func runOnThisThread() {
        threadID.store(pthread_self(), ordering: .releasing)
        // Our own sends pass MSG_NOSIGNAL, but libuv's asynchronous writes
        // use write(2): with SIGPIPE blocked on this thread, a write to a
        // reset peer fails with EPIPE instead of killing the process, and
        // the application's own SIGPIPE disposition is left alone.
        var pipe = sigset_t()
        sigemptyset(&pipe)
        sigaddset(&pipe, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipe, nil)
        runTurns()
        // What libuv's last callbacks closed (or, by a bug, left open: it
        // counts as a leak) ends here; flushes they scheduled never run
        // now: let go of the connections they hold.
        watcher.finishClosedConnections()
        let leftOpen = watcher.connectionCount
        if leftOpen > 0 {
            leakedHandleCount += leftOpen
            watcher.forEachConnection { $0.close() }
            watcher.finishClosedConnections()
        }
        pendingFlushes.removeAll()
        closeReport = LoopCloseReport(
            leakedHandles: leakedHandleCount,
            closeResult: uv_loop_close(uvLoop)
        )
    }

    /// The loop itself. The thread blocks in the socket watcher's epoll
    /// set, which holds every connection socket and libuv's own
    /// descriptor; libuv runs a turn of its own (timers, tasks, listeners,
    /// close callbacks) only when its descriptor is ready or something of
    /// its is due, so a turn with socket events only costs one
    /// `epoll_wait`. Every turn ends by flushing what its callbacks wrote
    /// and finishing the connections they closed.
    ///
    /// Needs libuv 1.44 or later: from then on `uv_backend_timeout` is 0
    /// while libuv has registrations it has not handed to its epoll set
    /// yet (a handle started outside `uv_run`), so they are made before
    /// the thread blocks (`EventLoop.init` checks the version).
    private func runTurns() {
        while true {
            // The clock is read before each decision: a turn's own work
            // must not make a due timer look not yet due.
            uv_update_time(uvLoop)
            let count = watcher.wait(timeout: uv_backend_timeout(uvLoop))
            uv_update_time(uvLoop)
            // A full batch may have left libuv's descriptor among the ready
            // ones not fetched: libuv runs then too, so tasks and accepts
            // never wait behind a busy loop's sockets for several turns.
            let libuvIsReady = watcher.dispatch(count) || count == SocketWatcher.readyCapacity
            uv_update_time(uvLoop)
            if libuvIsReady || uv_backend_timeout(uvLoop) == 0 {
                // 0: no handle is left (after `beginShutdown`).
                if uv_run(uvLoop, UV_RUN_NOWAIT) == 0 { return }
            }
            repeat {
                flushPendingWrites()
                watcher.finishClosedConnections()
            } while !pendingFlushes.isEmpty
        }
    }

    func joinThread() {
        uv_thread_join(&thread)
    }

    /// Whether the caller runs on this loop's thread.
    public var inEventLoop: Bool {
        threadID.load(ordering: .acquiring) == pthread_self()
    }

    /// Traps in debug builds when called off the loop's thread.
    @inline(__always)
    public func assertInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(inEventLoop, "called off its event loop's thread", file: file, line: line)
    }

    // MARK: Tasks from any thread

    /// Runs `task` on this loop's thread, soon. Safe from any thread.
    ///
    /// Returns `false` (and drops the task) once the loop is shutting down.
    @discardableResult
    public func execute(_ task: @escaping @Sendable () -> Void) -> Bool {
        tasks.withLock { list in
            guard !list.isClosed else { return false }
            list.items.append(task)
            // Only the first task of a batch wakes the loop; libuv coalesces
            // further sends anyway, but this skips their atomic write too.
            if list.items.count == 1 { uv_async_send(wakeUp) }
            return true
        }
    }

    /// Runs `task` on this loop's thread and waits until it has run (or
    /// `timeout` passed): everything queued before it has run too. Returns
    /// false when the loop was shutting down or the wait timed out. Never
    /// call it from this loop's own thread.
    @discardableResult
    package func runAndWait(timeout: Duration? = nil, _ task: @escaping @Sendable () -> Void) -> Bool {
        precondition(!inEventLoop, "runAndWait on its own loop would never return")
        let done = Latch(count: 1)
        guard execute({ task(); done.countDown() }) else { return false }
        return done.wait(timeout: timeout)
    }

    private func runQueuedTasks() {
        var batch = tasks.withLock { list in
            let taken = list.items
            list.items = list.spare
            return taken
        }
        for task in batch { task() }
        batch.removeAll(keepingCapacity: true)
        tasks.withLock { list in list.spare = batch }
        if isShutdownRequested {
            isShutdownRequested = false
            finishShutdown()
        }
    }

    // MARK: Write flushing

    func scheduleFlush(_ connection: TCPConnection) {
        pendingFlushes.append(connection)
    }

    private func flushPendingWrites() {
        var index = 0
        // A flush may schedule more (a connection's delegate reacting to a
        // drained queue): keep going until the list is empty.
        while index < pendingFlushes.count {
            pendingFlushes[index].flush()
            index += 1
        }
        pendingFlushes.removeAll(keepingCapacity: true)
    }

    // MARK: Resources closed at shutdown

    func register(_ resource: any LoopResource) {
        resources[ObjectIdentifier(resource)] = resource
    }

    func unregister(_ resource: any LoopResource) {
        resources[ObjectIdentifier(resource)] = nil
    }

    /// Calls `body` with every connection of this loop that is not closing.
    package func forEachConnection(_ body: (TCPConnection) -> Void) {
        assertInEventLoop()
        watcher.forEachConnection(body)
    }

    /// The milliseconds clock that connection timeouts are measured on:
    /// libuv's (cached at the start of each turn) minus the time the loop
    /// itself was late (`stalledMilliseconds`). Loop-bound.
    package var now: UInt64 { uv_now(uvLoop) - stalledMilliseconds }

    /// Time the loop could not serve its connections: turns that ran long,
    /// or the thread waiting for a core. A timeout measures a peer's
    /// silence, and a peer cannot read or answer while its loop is not
    /// running, so an overloaded server does not drop healthy peers (a slow
    /// reader's close frame, a pong queued behind a busy turn). Grows only
    /// when the deadline sweep runs late (`DeadlineSweep.noteLateness`).
    private(set) var stalledMilliseconds: UInt64 = 0

    func addStall(_ milliseconds: UInt64) {
        stalledMilliseconds += milliseconds
    }

    // MARK: Shutdown

    /// Stops accepting tasks, closes every listener and connection of this
    /// loop, then its own handles; the thread ends when the last close
    /// callback has run.
    func beginShutdown() {
        let accepted = execute { [self] in
            // Close the wake-up handle under the lock, so no other thread
            // can be inside uv_async_send on it.
            tasks.withLock { list in
                list.isClosed = true
                uv_close(asHandle(wakeUp), nil)
            }
            // Tasks queued behind this one (an accepted socket handed over
            // by another loop) run first, then everything is closed.
            isShutdownRequested = true
        }
        assert(accepted, "shutdown requested twice")
    }

    private var isShutdownRequested = false

    private func finishShutdown() {
        runQueuedTasks()
        for resource in Array(resources.values) { resource.closeForShutdown() }
        forEachConnection { $0.close() }
        watcher.finishClosedConnections()
        deadlines.close()
        closeLeakedHandles()
    }

    private var leakedHandleCount = 0

    /// Any handle still open here was not closed by its owner: close it so
    /// the loop can end, and count it so a test can fail on the leak.
    private func closeLeakedHandles() {
        let me = Unmanaged.passUnretained(self).toOpaque()
        uv_walk(uvLoop, { handle, context in
            guard let handle, uv_is_closing(handle) == 0 else { return }
            let loop = Unmanaged<EventLoop>.fromOpaque(context!).takeUnretainedValue()
            loop.leakedHandleCount += 1
            uv_close(handle, nil)
        }, me)
    }
}

/// The outcome of closing a loop: both numbers are zero when every handle
/// was closed by its owner.
package struct LoopCloseReport: Sendable, Equatable {
    /// Handles (and connections) that were still open after every owner
    /// had closed its own.
    package var leakedHandles: Int
    /// `uv_loop_close`'s result: 0, or `UV_EBUSY` when something was left.
    package var closeResult: Int32
}

/// Something on a loop that must be closed when the loop shuts down.
protocol LoopResource: AnyObject {
    func closeForShutdown()
}

private struct TaskList {
    var items: [@Sendable () -> Void] = []
    var spare: [@Sendable () -> Void] = []
    var isClosed = false
}
