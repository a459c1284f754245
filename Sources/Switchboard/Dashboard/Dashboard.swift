extension Server {
    /// Serves a live dashboard at `path`: connections, messages and
    /// deliveries per second, drops, queued bytes, each loop's load and the
    /// busiest topics, charted over the last five minutes and updated every
    /// second through this server's own pub/sub.
    ///
    /// `authorize` decides every request for it (the page, its history at
    /// `path/history` and its WebSocket at `path/live`); a refused one gets
    /// 404, as if there were no dashboard. There is no open default: pass
    /// a check of your operators' session, or of a secret in the query
    /// (the page hands its own query to its history and socket).
    ///
    /// ```swift
    /// server.dashboard(at: "/admin/dashboard") { request in
    ///     request.queryValue("key") == operatorKey
    /// }
    /// ```
    public func dashboard(at path: String, authorize: @escaping @Sendable (Request) -> Bool) {
        let feed = dashboardFeed.withLock { feed in
            if feed == nil { feed = DashboardFeed() }
            return feed!
        }
        router.get(path) { request in
            guard authorize(request) else { throw HTTPError(.notFound) }
            return .html(DashboardPage.html)
        }
        router.get(path + "/history") { request in
            guard authorize(request) else { throw HTTPError(.notFound) }
            return .json(feed.historyJSON)
        }
        router.webSocket(path + "/live", handler: DashboardSocket(topic: feed.topic, authorize: authorize))
    }
}

/// The dashboard page's socket: subscribed to the samples, nothing else.
struct DashboardSocket: WebSocketHandler {
    let topic: String
    let authorize: @Sendable (Request) -> Bool

    func authenticate(_ request: Request) throws {
        guard authorize(request) else { throw HTTPError(.notFound) }
    }

    func onOpen(_ socket: WebSocket<Void>) { socket.subscribe(topic) }
}
