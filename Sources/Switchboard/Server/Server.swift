import Glibc
import Logging
public import SwitchboardIO
import Synchronization
import SwitchboardSync

/// An HTTP/1.1 server on libuv event loops, with a router for plain
/// endpoints (and, with the WebSocket layer, upgrade routes).
///
/// ```swift
/// let server = Server(configuration: .init(port: 9000))
/// server.router.get("/health") { _ in .text("ok") }
/// try server.runUntilTerminated()
/// ```
public final class Server: Sendable {
    public let configuration: ServerConfiguration
    /// Register routes here before `start()`.
    public let router = Router()
    /// Topics: subscribe WebSocket connections, publish from any thread.
    public let pubsub: PubSub
    private let state = Locked(State.idle)

    private enum State {
        case idle
        case running(EventLoopGroup, TCPListener, [LoopContext])
        case stopped
    }

    public init(configuration: ServerConfiguration = ServerConfiguration()) {
        self.configuration = configuration
        pubsub = PubSub(loopCount: configuration.loopCount)
    }

    /// Binds, starts the loops, and returns the bound address (with the
    /// real port when the configuration asked for port 0).
    @discardableResult
    public func start() throws -> SocketAddress {
        try state.withLock { state in
            guard case .idle = state else { throw ServerError.alreadyStarted }
            let group = try EventLoopGroup(loopCount: configuration.loopCount, readBufferSize: configuration.readBufferSize)
            let routes = router.freeze()
            pubsub.attach(group, compressing: routes.allowsCompression)
            do {
                try pubsub.start(configuration.backplane)
            } catch {
                group.shutdown()
                throw error
            }
            let contexts = group.loops.map { LoopContext(loop: $0, routes: routes, configuration: configuration, pubsub: pubsub) }
            do {
                let listener = try TCPListener(
                    address: SocketAddress(host: configuration.host, port: configuration.port),
                    group: group,
                    distribution: configuration.distribution,
                    backlog: configuration.backlog
                ) { connection in
                    HTTPConnectionHandler(context: contexts[connection.loop.index]).start(connection)
                }
                state = .running(group, listener, contexts)
                configuration.logger.info("listening", metadata: ["address": "\(listener.address)", "loops": "\(group.loops.count)"])
                return listener.address
            } catch {
                pubsub.stopBackplane()
                group.shutdown()
                throw error
            }
        }
    }

    /// The bound address while running.
    public var address: SocketAddress? {
        state.withLock { state in
            if case .running(_, let listener, _) = state { return listener.address }
            return nil
        }
    }

    /// The loops while running (for stats and tests).
    package var group: EventLoopGroup? {
        state.withLock { state in
            if case .running(let group, _, _) = state { return group }
            return nil
        }
    }

    /// The per-loop contexts while running.
    var loopContexts: [LoopContext]? {
        state.withLock { state in
            if case .running(_, _, let contexts) = state { return contexts }
            return nil
        }
    }

    /// Stops listening, closes every connection, joins the loop threads.
    /// WebSocket clients get 1001 first; the stop waits up to
    /// `shutdownGracePeriod` for their connections to close.
    /// Throws when a loop was left with a handle nobody closed (a bug).
    public func stop() throws(ShutdownError) {
        let running: (EventLoopGroup, TCPListener, [LoopContext])? = state.withLock { state in
            defer { state = .stopped }
            if case .running(let group, let listener, let contexts) = state { return (group, listener, contexts) }
            return nil
        }
        guard let (group, listener, contexts) = running else { return }
        listener.close()
        // RFC 6455 §7.4.1 1001: tell every WebSocket client the server is
        // going away, and give the close frames a moment to leave.
        let closedAll = Latch(count: contexts.count)
        for context in contexts where !context.loop.execute({ context.closeWebSocketsForShutdown(then: closedAll) }) {
            closedAll.countDown()
        }
        closedAll.wait(timeout: configuration.shutdownGracePeriod)
        // After the closes, so what handlers publish as their sockets close
        // (a chat's "left") still reaches the other nodes; before the loops
        // end, which the backplane's own handles live on.
        pubsub.stopBackplane()
        defer { router.releaseHandlers() }
        try group.shutdownGracefully()
    }

    /// Starts, then blocks until SIGINT or SIGTERM, then stops.
    ///
    /// The two signals are blocked before the loop threads start (threads
    /// inherit the mask), so only this thread receives them, in `sigwait`.
    public func runUntilTerminated() throws {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        try start()
        var received: Int32 = 0
        sigwait(&signals, &received)
        configuration.logger.info("stopping", metadata: ["signal": "\(received)"])
        try stop()
    }
}

extension Server {
    /// Adds a WebSocket endpoint; see `Router.webSocket(_:configuration:handler:)`.
    public func webSocket<Handler: WebSocketHandler>(
        _ pattern: String,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        handler: Handler
    ) {
        router.webSocket(pattern, configuration: configuration, handler: handler)
    }
}

public enum ServerError: Error, Sendable {
    case alreadyStarted
    /// The server is not running (not started yet, or stopped).
    case notRunning
}
