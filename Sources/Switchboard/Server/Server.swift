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
    /// Fires when `stop()` has finished.
    let stopped = OneShotSignal()
    let draining = DrainFlag()
    /// Open WebSocket connections on all loops (`maxWebSockets`).
    let webSockets = WebSocketCount()
    /// Samples for `dashboard(at:authorize:)`, when one is mounted.
    let dashboardFeed = Locked<DashboardFeed?>(nil)

    private enum State {
        case idle
        /// The listener is nil after `startWithoutListening()`.
        case running(EventLoopGroup, TCPListener?, [LoopContext])
        case stopped
    }

    enum Phase { case idle, running, stopped }

    var phase: Phase {
        state.withLock { state in
            switch state {
            case .idle: .idle
            case .running: .running
            case .stopped: .stopped
            }
        }
    }

    /// True from the moment a graceful shutdown begins (a `ServiceGroup`'s,
    /// or the signal `runUntilTerminated()` waits for) until the server
    /// has stopped. During `ServerConfiguration.drainDelay` the server still
    /// serves and accepts everyone; a health route that answers 503 while
    /// this is true lets a load balancer take the instance out first.
    public var isDraining: Bool { draining.isSet }

    /// The WebSocket connections open now, on all loops.
    public var webSocketCount: Int { webSockets.value }

    public init(configuration: ServerConfiguration = ServerConfiguration()) {
        self.configuration = configuration
        pubsub = PubSub(loopCount: configuration.loopCount, history: configuration.history)
    }

    /// Binds, starts the loops, and returns the bound address (with the
    /// real port when the configuration asked for port 0).
    @discardableResult
    public func start() throws -> SocketAddress {
        try start(listening: true)!
    }

    /// Starts the loops (and the backplane) without binding anything:
    /// connections arrive only through `handleUpgrade`, from a host whose
    /// own HTTP server owns the port. `address` stays nil; `stop()` and
    /// `run()` (which finds the server running) work as usual.
    public func startWithoutListening() throws {
        try start(listening: false)
    }

    @discardableResult
    private func start(listening: Bool) throws -> SocketAddress? {
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
            let contexts = group.loops.map { LoopContext(loop: $0, routes: routes, configuration: configuration, pubsub: pubsub, webSockets: webSockets, draining: draining) }
            startReportingMetrics(contexts)
            dashboardFeed.withLock { $0 }?.start(on: contexts)
            if pubsub.history != nil, let first = contexts.first {
                _ = first.loop.execute { first.startHistorySweep() }
            }
            if let budget = configuration.maxQueuedBytesTotal {
                let share = max(1, budget / contexts.count)
                for context in contexts { _ = context.loop.execute { context.startQueueBudget(share: share) } }
            }
            guard listening else {
                state = .running(group, nil, contexts)
                configuration.logger.info("running without a listener", metadata: ["loops": "\(group.loops.count)"])
                return nil
            }
            do {
                let listener = try TCPListener(
                    address: SocketAddress(host: configuration.host, port: configuration.port),
                    group: group,
                    distribution: configuration.distribution,
                    backlog: configuration.backlog,
                    // HTTP clients speak first: a connection is accepted with
                    // its request, or after about the request timeout without
                    // one (then the idle timeout applies, as before).
                    clientSpeaksFirst: Int32(clamping: max(1, configuration.http.requestTimeout.components.seconds))
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

    /// With a metrics backend bootstrapped (`MetricsSystem.bootstrap`,
    /// before `start()`), each loop reports its counts every
    /// `metricsInterval`; without one nothing is reported or scheduled.
    private func startReportingMetrics(_ contexts: [LoopContext]) {
        guard MetricsInstruments.backendIsBootstrapped else { return }
        let instruments = MetricsInstruments(
            webSocketRoutes: router.webSocketRoutePatterns, httpRoutes: router.httpRoutePatterns, loopCount: contexts.count)
        let (pubsub, interval) = (pubsub, configuration.metricsInterval)
        for context in contexts {
            _ = context.loop.execute {
                let reporter = LoopMetricsReporter(
                    metrics: context.metrics, counts: context.counts, instruments: instruments, loop: context.loop,
                    publishes: { pubsub.publishCount }, topics: { pubsub.topicCount },
                    history: { pubsub.history.map { ($0.store.bytesUsed, $0.store.streamCount) } })
                context.metricsReporter = reporter
                reporter.start(every: interval)
            }
        }
    }

    /// The bound address while running.
    public var address: SocketAddress? {
        state.withLock { state in
            if case .running(_, let listener, _) = state { return listener?.address }
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
        defer { stopped.fire() }
        let running: (EventLoopGroup, TCPListener?, [LoopContext])? = state.withLock { state in
            defer { state = .stopped }
            if case .running(let group, let listener, let contexts) = state { return (group, listener, contexts) }
            return nil
        }
        guard let (group, listener, contexts) = running else { return }
        draining.set()
        listener?.close()
        // RFC 6455 §7.4.1 1001: tell every WebSocket client the server is
        // going away, and give the close frames a moment to leave.
        // Spread over the drain window, so the clients do not all come back
        // to the other nodes at once.
        let closedAll = Latch(count: contexts.count)
        let window = DrainSchedule.window(count: webSockets.value, rate: configuration.drainCloseRate, longest: configuration.drainWindow)
        for context in contexts where !context.loop.execute({ context.closeWebSocketsForShutdown(over: window, then: closedAll) }) {
            closedAll.countDown()
        }
        closedAll.wait(timeout: window + configuration.shutdownGracePeriod)
        // What the closes counted is reported before the loops end.
        for context in contexts {
            _ = context.loop.runAndWait(timeout: .seconds(1)) {
                context.metricsReporter?.stop()
                context.metricsReporter = nil
                context.stopQueueBudget()
                context.stopHistorySweep()
                DashboardFeed.stop(on: context)
            }
        }
        // After the closes, so what handlers publish as their sockets close
        // (a chat's "left") still reaches the other nodes; before the loops
        // end, which the backplane's own handles live on.
        pubsub.stopBackplane()
        defer { router.releaseHandlers() }
        try group.shutdownGracefully()
    }

    /// `stop()` for async code: the same steps, waited for on a thread of
    /// their own, so the grace period and joining the loops' threads never
    /// hold a thread of Swift's cooperative pool.
    public func stop() async throws(ShutdownError) {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, ShutdownError>, Never>) in
            runOnDetachedThread {
                continuation.resume(returning: Result { () throws(ShutdownError) in try self.stop() })
            }
        }
        try result.get()
    }

    /// Waits `drainDelay` (serving all the while), then stops.
    func drainAndStop() async throws(ShutdownError) {
        draining.set()
        // Cut short when the task is cancelled: then nobody waits for a drain.
        try? await Task.sleep(for: configuration.drainDelay)
        try await stop()
    }

    /// Starts, then blocks until SIGINT or SIGTERM, then waits
    /// `drainDelay` and stops. For a program that runs nothing else; in a
    /// `ServiceGroup` (which handles the signals itself) run the server as
    /// one of its services instead.
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
        configuration.logger.info("stopping", metadata: ["signal": "\(received)", "drain": "\(configuration.drainDelay)"])
        draining.set()
        if configuration.drainDelay > .zero {
            let (seconds, attoseconds) = configuration.drainDelay.components
            var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
            var remaining = timespec()
            while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
        }
        try stop()
    }
}

extension Server {
    /// Adds a WebSocket endpoint; see `Router.webSocket(_:configuration:handler:)`.
    @inlinable
    public func webSocket<Handler: WebSocketHandler>(
        _ pattern: String,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        handler: Handler
    ) {
        router.webSocket(pattern, configuration: configuration, handler: handler)
    }

    /// Adds a WebSocket endpoint with an `async` `authenticate`; see
    /// `Router.webSocket(_:configuration:handler:authenticate:)`.
    @inlinable
    public func webSocket<Handler: WebSocketHandler>(
        _ pattern: String,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        handler: Handler,
        authenticate: @escaping @Sendable (Request) async throws -> Handler.UserData
    ) {
        router.webSocket(pattern, configuration: configuration, handler: handler, authenticate: authenticate)
    }
}

extension Server: CustomStringConvertible {
    /// What a `ServiceGroup`'s log lines call the server, e.g.
    /// `Switchboard.Server(127.0.0.1:8080, 2 loops)`.
    public var description: String {
        state.withLock { state in
            switch state {
            case .idle: "Switchboard.Server(\(configuration.host):\(configuration.port), not started)"
            case .running(let group, let listener, _):
                "Switchboard.Server(\(listener.map { "\($0.address)" } ?? "no listener"), \(group.loops.count) loops)"
            case .stopped: "Switchboard.Server(stopped)"
            }
        }
    }
}

public enum ServerError: Error, Sendable {
    case alreadyStarted
    /// The server is not running (not started yet, or stopped).
    case notRunning
    /// The server stopped while it ran as a service, without its group
    /// asking (someone called `stop()`): thrown by `run()` so that the
    /// group notices and shuts down the rest.
    case stoppedOutsideItsGroup
    /// `ServerConfiguration.history` has rules and the backplane is not a
    /// `HistoryBackplane`: each node would number a topic's messages on
    /// its own, so positions would not carry from one node to another.
    case historyWithBackplane
}
