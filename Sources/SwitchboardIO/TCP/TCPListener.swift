internal import CLibUV
import Glibc

/// How accepted connections are spread over a group's loops.
public struct ConnectionDistribution: Sendable, Hashable, CustomStringConvertible {
    private enum Kind { case reusePort, singleAcceptor }
    private let kind: Kind

    /// Every loop listens on its own socket bound with `SO_REUSEPORT`; the
    /// kernel spreads new connections over them and no connection changes
    /// threads. The default: no cross-thread hand-off per connection.
    public static let reusePort = ConnectionDistribution(kind: .reusePort)
    /// The first loop accepts every connection and hands each to the next
    /// loop in turn: an even spread, at the price of a cross-thread task
    /// per connection.
    public static let singleAcceptor = ConnectionDistribution(kind: .singleAcceptor)

    var isReusePort: Bool { kind == .reusePort }
    public var description: String { isReusePort ? "reusePort" : "singleAcceptor" }
}

/// A listening TCP socket whose accepted connections land on a group's loops.
package final class TCPListener: Sendable {
    /// The address actually bound (with the real port when 0 was asked).
    package let address: SocketAddress
    private let acceptors: [Acceptor]

    /// Listen backlog: connections the kernel queues before they are
    /// accepted. 1024 absorbs a burst of a thousand connects.
    package static let defaultBacklog: Int32 = 1024

    /// Binds and listens at once (so connections queue in the kernel from
    /// this point on); the loops start accepting on their next turn.
    /// `onAccept` runs on the loop that owns the new connection.
    ///
    /// `clientSpeaksFirst` (seconds; 0: off), for protocols where the
    /// client sends first (HTTP): the kernel hands over a connection only
    /// once its first bytes are in (`TCP_DEFER_ACCEPT`), or after about this
    /// long without them, and each is read as soon as its delegate is set,
    /// in the turn that accepted it. A handshake then costs no readiness
    /// event of its own, and a connection that says nothing costs no
    /// descriptor while the kernel waits (server CPU per WebSocket
    /// handshake about 6 µs lower, wsbench connect).
    package init(
        address: SocketAddress,
        group: EventLoopGroup,
        distribution: ConnectionDistribution = .reusePort,
        backlog: Int32 = defaultBacklog,
        clientSpeaksFirst: Int32 = 0,
        onAccept: @escaping @Sendable (TCPConnection) -> Void
    ) throws(IOError) {
        var bound = address
        var sockets: [Int32] = []
        do {
            let count = distribution.isReusePort ? group.loops.count : 1
            for _ in 0..<count {
                let socket = try Self.listeningSocket(
                    at: bound, reusePort: distribution.isReusePort, backlog: backlog, deferAcceptSeconds: clientSpeaksFirst)
                sockets.append(socket)
                // With port 0 the first bind picks the port; the others join it.
                bound.port = try Self.localPort(of: socket)
            }
        } catch {
            for socket in sockets { Glibc.close(socket) }
            throw error
        }
        self.address = bound
        if distribution.isReusePort {
            acceptors = zip(group.loops, sockets).map { loop, socket in
                Acceptor(loop: loop, socket: socket, targets: [loop], readsAtOnce: clientSpeaksFirst > 0, onAccept: onAccept)
            }
        } else {
            acceptors = [Acceptor(
                loop: group.loops[0], socket: sockets[0], targets: group.loops, readsAtOnce: clientSpeaksFirst > 0, onAccept: onAccept)]
        }
        for acceptor in acceptors {
            acceptor.loop.execute { acceptor.start() }
        }
    }

    /// Stops accepting. Connections already accepted are not affected.
    /// Safe from any thread.
    package func close() {
        for acceptor in acceptors {
            acceptor.loop.execute { acceptor.close() }
        }
    }

    private static func listeningSocket(
        at address: SocketAddress, reusePort: Bool, backlog: Int32, deferAcceptSeconds: Int32
    ) throws(IOError) -> Int32 {
        var (storage, length) = try address.storage()
        let socket = Glibc.socket(Int32(storage.ss_family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw IOError(code: -errno, operation: "socket") }
        var on: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        // Inherited by every accepted socket: no system call per connection.
        TCPConnection.disableNagle(socket)
        if deferAcceptSeconds > 0 {
            // Linux: accept only once the client's first bytes are in
            // (or after about this long without them).
            var seconds = deferAcceptSeconds
            setsockopt(socket, Int32(IPPROTO_TCP), TCP_DEFER_ACCEPT, &seconds, socklen_t(MemoryLayout<Int32>.size))
        }
        if reusePort {
            setsockopt(socket, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(socket, $0, length) }
        }
        guard bound == 0, Glibc.listen(socket, backlog) == 0 else {
            let code = -errno
            Glibc.close(socket)
            throw IOError(code: code, operation: "listen on \(address)")
        }
        return socket
    }

    private static func localPort(of socket: Int32) throws(IOError) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        guard result == 0, let address = SocketAddress(storage) else {
            throw IOError(code: -errno, operation: "getsockname")
        }
        return address.port
    }
}

/// Watches one listening socket on one loop and accepts in batches.
final class Acceptor: @unchecked Sendable, LoopResource {
    let loop: EventLoop
    private let socket: Int32
    private let targets: [EventLoop]
    private let onAccept: @Sendable (TCPConnection) -> Void
    /// Connections come with their first bytes (`clientSpeaksFirst`): read
    /// them at once.
    private let readsAtOnce: Bool
    private var nextTarget = 0
    /// The socket is in the loop's epoll set (`SocketWatcher.watchListener`).
    private var isWatched = false
    private var retryTimer: UnsafeMutablePointer<uv_timer_t>?
    private var isClosed = false

    /// Connections accepted per wake-up at most, so a connect storm cannot
    /// starve the reads of connections already open on this loop.
    static let batchLimit = 128
    /// Pause after running out of file descriptors before trying again.
    static let retryDelay: UInt64 = 100

    init(
        loop: EventLoop, socket: Int32, targets: [EventLoop], readsAtOnce: Bool,
        onAccept: @escaping @Sendable (TCPConnection) -> Void
    ) {
        self.loop = loop
        self.socket = socket
        self.targets = targets
        self.readsAtOnce = readsAtOnce
        self.onAccept = onAccept
    }

    func start() {
        guard !isClosed else { return }
        let timer = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
        uv_timer_init(loop.uvLoop, timer)
        // The timer points back here unretained; the registry holds us.
        timer.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        retryTimer = timer
        loop.register(self)
        watch()
    }

    private func watch() {
        guard !isClosed, !isWatched else { return }
        // Fails only without kernel memory: try again after the pause.
        guard loop.watcher.watchListener(self, socket: socket) == 0 else {
            uv_timer_start(retryTimer, Self.retry, Self.retryDelay, 0)
            return
        }
        isWatched = true
    }

    private static let retry: uv_timer_cb = { timer in
        Unmanaged<Acceptor>.fromOpaque(timer!.pointee.data).takeUnretainedValue().watch()
    }

    /// The loop's epoll set reported the socket: connections wait.
    func acceptBatch() {
        guard isWatched else { return }  // stopped earlier in this turn
        for _ in 0..<Self.batchLimit {
            // The peer's address comes with the accept: no getpeername later.
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept4(socket, $0, &length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
                }
            }
            if client >= 0 {
                handOver(client, peer: PeerAddress(peer))
                // A connection's start may have closed the listener.
                guard isWatched else { return }
                continue
            }
            switch errno {
            case EINTR, ECONNABORTED, EPROTO:
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                // Out of descriptors: readiness is level-triggered, so stop
                // watching for a moment instead of spinning on the error.
                unwatch()
                uv_timer_start(retryTimer, Self.retry, Self.retryDelay, 0)
                return
            default:
                return  // EAGAIN: nothing more to accept now
            }
        }
    }

    private func unwatch() {
        guard isWatched else { return }
        isWatched = false
        loop.watcher.unwatchListener(self, socket: socket)
    }

    private func handOver(_ socket: Int32, peer: PeerAddress) {
        let target = targets[nextTarget]
        nextTarget = (nextTarget + 1) % targets.count
        let onAccept = self.onAccept
        let readsAtOnce = self.readsAtOnce
        if target === loop {
            Self.adopt(socket, peer: peer, on: target, readsAtOnce: readsAtOnce, onAccept: onAccept)
        } else if !target.execute({ Self.adopt(socket, peer: peer, on: target, readsAtOnce: readsAtOnce, onAccept: onAccept) }) {
            Glibc.close(socket)
        }
    }

    private static func adopt(
        _ socket: Int32, peer: PeerAddress, on loop: EventLoop, readsAtOnce: Bool, onAccept: (TCPConnection) -> Void
    ) {
        let connection = TCPConnection(loop: loop, socket: socket, peer: peer)
        loop.acceptedConnections.add(1, ordering: .relaxed)
        onAccept(connection)
        if readsAtOnce { connection.readAtOnce() }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        unwatch()
        loop.unregister(self)
        Glibc.close(socket)
        if let retryTimer { closeAndFree(retryTimer) }
    }

    func closeForShutdown() { close() }
}
