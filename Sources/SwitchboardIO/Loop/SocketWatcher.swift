internal import CLibUV
import Glibc

/// Watches every connection socket of one loop with an epoll set of its
/// own, which libuv polls as a single descriptor.
///
/// Why not a libuv handle per connection: a `uv_poll_t` is 160 bytes in
/// every idle connection, and `uv_poll_init_socket` costs three system
/// calls per connection (an `ioctl` and an epoll add and delete to check
/// the descriptor). Here a connection costs its table slot (8 bytes) and
/// one `epoll_ctl` when it starts watching. Readiness is level-triggered,
/// as libuv's polls are: what a callback leaves unread is reported again
/// on the next turn.
///
/// Lifetime: the table holds each connection strongly until it closes.
/// Closing removes the socket from the set and closes it at once; the
/// connection is released, and hears that it closed, on the next turn
/// (libuv's idle phase), so an event already fetched in the same batch
/// never points at freed memory and `connectionDidClose` is never nested
/// inside the call that closed it.
final class SocketWatcher {
    private let epoll: Int32
    private let poll: UnsafeMutablePointer<uv_poll_t>
    private let finisher: UnsafeMutablePointer<uv_idle_t>
    private let ready: UnsafeMutablePointer<epoll_event>
    static let readyCapacity: Int32 = 256

    /// Open connections, indexed by socket.
    @exclusivity(unchecked) private var connections: ContiguousArray<TCPConnection?> = []
    /// Closed connections whose end is delivered on the next turn, and the
    /// list they are moved to while that runs (no allocation per turn).
    @exclusivity(unchecked) private var closed: [TCPConnection] = []
    @exclusivity(unchecked) private var finishing: [TCPConnection] = []
    private var isFinisherStarted = false

    init(uvLoop: UnsafeMutablePointer<uv_loop_t>) throws(IOError) {
        let epoll = switchboard_epoll_create()
        guard epoll >= 0 else { throw IOError(code: epoll, operation: "epoll_create1") }
        let poll = UnsafeMutablePointer<uv_poll_t>.allocate(capacity: 1)
        let initialised = uv_poll_init(uvLoop, poll, epoll)
        guard initialised == 0 else {
            poll.deallocate()
            Glibc.close(epoll)
            throw IOError(code: initialised, operation: "uv_poll_init")
        }
        self.epoll = epoll
        self.poll = poll
        finisher = .allocate(capacity: 1)
        uv_idle_init(uvLoop, finisher)
        ready = switchboard_epoll_events_allocate(Self.readyCapacity)!
        let me = Unmanaged.passUnretained(self).toOpaque()
        poll.pointee.data = me
        finisher.pointee.data = me
        uv_poll_start(poll, Int32(UV_READABLE.rawValue)) { poll, _, _ in
            Unmanaged<SocketWatcher>.fromOpaque(poll!.pointee.data).takeUnretainedValue().dispatchReadySockets()
        }
    }

    deinit {
        free(UnsafeMutableRawPointer(ready))
    }

    // MARK: Connections

    /// Takes `connection` into the table; it watches nothing yet.
    func add(_ connection: TCPConnection, socket: Int32) {
        let slot = Int(socket)
        if slot >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: slot + 1 - connections.count))
        }
        connections[slot] = connection
    }

    /// Changes what the set reports for `socket` from `previous` to
    /// `events` (`SWITCHBOARD_EPOLL_IN`/`OUT`; 0: nothing, which removes
    /// it: an error or hang-up would otherwise be reported on every turn).
    /// Returns 0 or a negative errno.
    func watch(_ connection: TCPConnection, socket: Int32, events: UInt32, previous: UInt32) -> Int32 {
        let operation = previous == 0 ? SWITCHBOARD_EPOLL_ADD : events == 0 ? SWITCHBOARD_EPOLL_DEL : SWITCHBOARD_EPOLL_MOD
        return switchboard_epoll_control(
            epoll, Int32(operation), socket, events, Unmanaged.passUnretained(connection).toOpaque())
    }

    /// Stops watching `socket` (when it is watched) and closes it; the
    /// connection hears `socketDidClose` on the next turn.
    func close(_ connection: TCPConnection, socket: Int32, isWatched: Bool) {
        // Kept first: the table's reference may be the last one.
        closed.append(connection)
        connections[Int(socket)] = nil
        // Explicitly: closing alone leaves the registration in place while
        // another process holds a copy of the descriptor (a child between
        // fork and exec), and its events would name a freed connection.
        if isWatched {
            _ = switchboard_epoll_control(epoll, Int32(SWITCHBOARD_EPOLL_DEL), socket, 0, nil)
        }
        Glibc.close(socket)
        if !isFinisherStarted {
            isFinisherStarted = true
            // An active idle handle also keeps the loop from blocking.
            uv_idle_start(finisher) { idle in
                Unmanaged<SocketWatcher>.fromOpaque(idle!.pointee.data).takeUnretainedValue().finishClosedConnections()
            }
        }
    }

    /// Calls `body` with every open connection.
    func forEachConnection(_ body: (TCPConnection) -> Void) {
        // A copy: `body` may close connections.
        for connection in Array(connections) {
            if let connection { body(connection) }
        }
    }

    // MARK: Events

    private func dispatchReadySockets() {
        let count = switchboard_epoll_ready(epoll, ready, Self.readyCapacity)
        guard count > 0 else { return }
        for index in 0..<count {
            // Alive until the next turn even if an earlier event of this
            // batch closed it (see `close`): the connection ignores events
            // it no longer waits for.
            let object = switchboard_epoll_object(ready, index)!
            let flags = switchboard_epoll_flags(ready, index)
            Unmanaged<TCPConnection>.fromOpaque(object)._withUnsafeGuaranteedRef { $0.socketDidBecomeReady(flags) }
        }
    }

    private func finishClosedConnections() {
        // Finishing may close more (a delegate closing another connection):
        // those are delivered here too.
        while !closed.isEmpty {
            swap(&closed, &finishing)
            for connection in finishing { connection.socketDidClose() }
            finishing.removeAll(keepingCapacity: true)
        }
        uv_idle_stop(finisher)
        isFinisherStarted = false
    }

    // MARK: Shutdown

    /// Delivers the ends still pending and closes the set's own handles
    /// (and with them the epoll descriptor). Every connection must be
    /// closed already.
    func shutDown() {
        finishClosedConnections()
        closeAndFree(finisher)
        poll.pointee.data = UnsafeMutableRawPointer(bitPattern: Int(epoll))
        uv_close(asHandle(poll)) { handle in
            Glibc.close(Int32(Int(bitPattern: handle!.pointee.data)))
            UnsafeMutableRawPointer(handle!).deallocate()
        }
    }
}
