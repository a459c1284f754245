public import ServiceLifecycle

/// A `Server` runs as one service of a swift-service-lifecycle
/// `ServiceGroup`, beside the application's others:
///
/// ```swift
/// let group = ServiceGroup(
///     services: [server, priceFeed],
///     gracefulShutdownSignals: [.sigterm, .sigint],
///     logger: logger
/// )
/// try await group.run()
/// ```
extension Server: Service {
    /// Starts the server unless it is running already, serves until the
    /// group shuts down gracefully (or this task is cancelled), then goes
    /// on serving for `drainDelay` (`isDraining` is true) and stops as
    /// `stop()` does: 1001 to every WebSocket client, at most
    /// `shutdownGracePeriod` for their closes. A cancelled task skips the
    /// drain delay.
    ///
    /// Throws `ServerError.stoppedOutsideItsGroup` when the server stops
    /// without the group asking, so the group notices; throws what
    /// `start()` or `stop()` throw.
    public func run() async throws {
        switch phase {
        case .idle: try start()
        case .running: break
        case .stopped: throw ServerError.notRunning
        }
        let stoppedOutsideItsGroup = await withTaskGroup(of: Bool.self) { waits in
            waits.addTask {
                await self.stopped.wait()
                return !Task.isCancelled
            }
            waits.addTask {
                // Returns on a graceful shutdown; throws when cancelled.
                try? await gracefulShutdown()
                return false
            }
            let first = await waits.next() ?? false
            waits.cancelAll()
            return first
        }
        if stoppedOutsideItsGroup { throw ServerError.stoppedOutsideItsGroup }
        try await drainAndStop()
    }
}

extension Server {
    /// Adds `GET path` for a load balancer's readiness check: 200 `ready`
    /// while the server serves, 503 once it drains (`isDraining`: during
    /// `drainDelay`, and while it stops), so the balancer sends new
    /// clients elsewhere before the 1001s go out.
    public func readinessRoute(at path: String = "/ready") {
        router.get(path) { [draining] _ in
            draining.isSet ? .text("draining", status: .serviceUnavailable) : .text("ready")
        }
    }
}
