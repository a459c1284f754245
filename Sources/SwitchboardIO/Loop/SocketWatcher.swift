internal import CLibUV
import Glibc

/// Watches every connection socket of one loop with an epoll set of its
/// own, which is also where the loop's thread blocks, and its listening
/// sockets: libuv's own epoll descriptor (its timers' wake-ups,
/// cross-thread tasks, Redis) is one more member of the set.
///
/// Why not a libuv handle per connection: a `uv_poll_t` is 160 bytes in
/// every idle connection, and `uv_poll_init_socket` costs three system
/// calls per connection (an `ioctl` and an epoll add and delete to check
/// the descriptor). Here a connection costs its table slot (8 bytes) and
/// one `epoll_ctl` when it starts watching. And why libuv's descriptor
/// inside this set rather than this set inside libuv's: a turn with only
/// socket events then costs one `epoll_wait`, not libuv's and then this
/// set's (`EventLoop.runTurns`). Readiness is level-triggered, as libuv's
/// polls are: what a callback leaves unread is reported again on the next
/// turn.
///
/// Lifetime: the table holds each connection strongly until it closes.
/// Closing removes the socket from the set and closes it at once; the
/// connection is released, and hears that it closed, at the end of the
/// turn (`finishClosedConnections`), so an event already fetched in the
/// same batch never points at freed memory and `connectionDidClose` is
/// never nested inside the call that closed it.
final class SocketWatcher {
    private let epoll: Int32
    private let ready: UnsafeMutablePointer<epoll_event>
    static let readyCapacity: Int32 = 256

    /// Open connections, indexed by socket.
    @exclusivity(unchecked) private var connections: ContiguousArray<TCPConnection?> = []
    /// Events are being handed out: connections must not be finished now
    /// (`dispatch` holds them without a retain).
    @exclusivity(unchecked) private var isDispatching = false
    /// Closed connections whose end is delivered at the end of the turn,
    /// and the list they are moved to while that runs (no allocation per
    /// turn).
    @exclusivity(unchecked) private var closed: [TCPConnection] = []
    @exclusivity(unchecked) private var finishing: [TCPConnection] = []
    /// Listeners that stopped this turn, let go of at its end (an event of
    /// theirs may still be in the batch).
    @exclusivity(unchecked) private var stoppedListeners: [Acceptor] = []

    init(uvLoop: UnsafeMutablePointer<uv_loop_t>) throws(IOError) {
        let epoll = switchboard_epoll_create()
        guard epoll >= 0 else { throw IOError(code: epoll, operation: "epoll_create1") }
        // libuv's events carry no object: they tell the loop to run libuv.
        let added = switchboard_epoll_control(
            epoll, Int32(SWITCHBOARD_EPOLL_ADD), uv_backend_fd(uvLoop), UInt32(SWITCHBOARD_EPOLL_IN), nil)
        guard added == 0 else {
            Glibc.close(epoll)
            throw IOError(code: added, operation: "epoll_ctl")
        }
        guard let ready = switchboard_epoll_events_allocate(Self.readyCapacity) else {
            Glibc.close(epoll)
            throw IOError(code: -ENOMEM, operation: "calloc")
        }
        self.epoll = epoll
        self.ready = ready
    }

    deinit {
        free(UnsafeMutableRawPointer(ready))
        Glibc.close(epoll)
    }

    // MARK: Connections

    /// Takes `connection` into the table; it watches nothing yet.
    func add(_ connection: TCPConnection, socket: Int32) {
        let slot = Int(socket)
        if slot >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: slot + 1 - connections.count))
        }
        // Already taken only if the descriptor was closed behind its
        // connection's back (a host handing over a socket it had closed)
        // and the number given out again: that connection's own close
        // finds the slot no longer its own and leaves the socket alone.
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
    /// connection hears `socketDidClose` at the end of the turn.
    func close(_ connection: TCPConnection, socket: Int32, isWatched: Bool) {
        // Kept first: the table's reference may be the last one.
        closed.append(connection)
        let slot = Int(socket)
        // Not its own any more (see `add`): the number belongs to another
        // connection now, whose registration and socket must stay.
        guard slot < connections.count, connections[slot] === connection else { return }
        connections[slot] = nil
        // Explicitly: closing alone leaves the registration in place while
        // another process holds a copy of the descriptor (a child between
        // fork and exec), and its events would name a freed connection.
        if isWatched {
            _ = switchboard_epoll_control(epoll, Int32(SWITCHBOARD_EPOLL_DEL), socket, 0, nil)
        }
        Glibc.close(socket)
    }

    /// Calls `body` with every open connection, in descriptor order.
    func forEachConnection(_ body: (TCPConnection) -> Void) {
        // By index, without copying the table: `body` may close connections
        // (which empties their slots) or add one (past the end).
        var index = 0
        while index < connections.count {
            if let connection = connections[index] { body(connection) }
            index += 1
        }
    }

    /// Open connections (a loop that has ended must have none).
    var connectionCount: Int { connections.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    // MARK: Listeners

    /// Reports `socket`, a listening socket, to `acceptor` when a
    /// connection waits (`Acceptor.acceptBatch`): an accept costs no turn of
    /// libuv's. Its events are told from a connection's by the low bit of
    /// the pointer they carry (objects are at least 8-byte aligned).
    /// Returns 0 or a negative errno.
    func watchListener(_ acceptor: Acceptor, socket: Int32) -> Int32 {
        switchboard_epoll_control(
            epoll, Int32(SWITCHBOARD_EPOLL_ADD), socket, UInt32(SWITCHBOARD_EPOLL_IN),
            Unmanaged.passUnretained(acceptor).toOpaque() + Self.listenerTag)
    }

    /// Stops reporting `socket`; `acceptor` is kept until the end of the turn.
    func unwatchListener(_ acceptor: Acceptor, socket: Int32) {
        _ = switchboard_epoll_control(epoll, Int32(SWITCHBOARD_EPOLL_DEL), socket, 0, nil)
        stoppedListeners.append(acceptor)
    }

    private static let listenerTag = 1

    // MARK: Events

    /// Blocks until a member is ready or `timeout` ms passed (-1: no
    /// limit); returns how many are (their events wait for `dispatch`).
    func wait(timeout: Int32) -> Int32 {
        let count = switchboard_epoll_wait(epoll, ready, Self.readyCapacity, timeout)
        // Only a descriptor closed behind the loop's back gives EBADF or
        // EINVAL here, and the loop cannot go on without its set: stop
        // with the reason rather than spin.
        precondition(count >= 0, "the loop's epoll set failed: errno \(-count)")
        return count
    }

    /// Hands the `count` events of the last `wait` to their connections;
    /// returns whether libuv's descriptor was among them.
    func dispatch(_ count: Int32) -> Bool {
        isDispatching = true
        defer { isDispatching = false }
        var libuvIsReady = false
        for index in 0..<count {
            guard let object = switchboard_epoll_object(ready, index) else {
                libuvIsReady = true
                continue
            }
            // Alive until the end of the turn even if an earlier event of
            // this batch closed it (see `close`): the connection ignores
            // events it no longer waits for.
            if Int(bitPattern: object) & Self.listenerTag != 0 {
                // A listener stopped earlier in this turn is still alive
                // (`stoppedListeners`) and ignores it.
                Unmanaged<Acceptor>.fromOpaque(object - Self.listenerTag)._withUnsafeGuaranteedRef { $0.acceptBatch() }
                continue
            }
            let flags = switchboard_epoll_flags(ready, index)
            Unmanaged<TCPConnection>.fromOpaque(object)._withUnsafeGuaranteedRef { $0.socketDidBecomeReady(flags) }
        }
        return libuvIsReady
    }

    /// Delivers the ends of the connections closed this turn, and lets go
    /// of them.
    func finishClosedConnections() {
        assert(!isDispatching, "connections finished while their events are handed out")
        // Finishing may close more (a delegate closing another connection):
        // those are delivered here too.
        while !closed.isEmpty {
            swap(&closed, &finishing)
            for connection in finishing { connection.socketDidClose() }
            finishing.removeAll(keepingCapacity: true)
        }
        if !stoppedListeners.isEmpty { stoppedListeners.removeAll() }
    }
}
