import Glibc
import HTTPTypes
import Logging
import SwitchboardHub
import SwitchboardIO
import SwitchboardWire
import SwitchboardSync
import Synchronization

/// What every connection on one loop shares: the route table, the
/// configuration, and a `Date` value cached for the current second.
/// Loop-confined: only touched on its loop's thread.
final class LoopContext: @unchecked Sendable {
    let loop: EventLoop
    let routes: RouteTable
    let configuration: ServerConfiguration
    let pubsub: PubSub
    /// The server's count of open WebSockets, over all loops.
    let webSockets: WebSocketCount
    /// The HTTP timeouts in the loop clock's milliseconds.
    let httpTimers: HTTPConnectionTimers.Settings
    /// The open WebSocket connections of this loop (counted closed once
    /// their handler's `onClose` has run).
    private var webSocketCount = 0
    /// Told when the last WebSocket of this loop has closed, while the
    /// server is stopping.
    private var closedAll: Latch?
    /// zlib streams shared by this loop's compressing connections (each
    /// made when the first one needs it).
    let deflate = LoopDeflate()
    /// What this loop counts for the metrics, and who reports it (nil
    /// without a metrics backend).
    let metrics = LoopMetrics()
    /// The integer counts, added to on the message path.
    let counts: LoopCounts
    /// Keeps what peers can make this loop log within bounds.
    var logLimit = LogRateLimit(perSecond: LoopContext.logLinesPerSecond)
    var metricsReporter: LoopMetricsReporter?
    /// Checks the node-wide queued-bytes budget (`maxQueuedBytesTotal`).
    var queueBudgetTimer: LoopTimer?
    /// Samples this loop for the dashboard, when one is mounted.
    var dashboardTimer: LoopTimer?
    /// Sweeps the topic history (first loop only, when history is on).
    var historySweepTimer: LoopTimer?
    /// For each connection of this loop subscribed to history topics
    /// through the client protocol, per topic, the position at subscribe
    /// time: live frames up to it are not delivered to it (it was sent them
    /// as replay, or they predate it). Kept here rather than in each
    /// connection, so connections without history cost nothing.
    /// Loop-confined and read on every history delivery: no exclusivity checks.
    @exclusivity(unchecked) var historyMarks: [ObjectIdentifier: [String: StreamPoint]] = [:]
    func forgetHistoryMark(of connection: WebSocketConnection, topic: String) {
        guard !historyMarks.isEmpty else { return }
        let id = ObjectIdentifier(connection)
        historyMarks[id]?[topic] = nil
        if historyMarks[id]?.isEmpty == true { historyMarks[id] = nil }
    }

    /// Called when the connection ends (its identifier may be reused next).
    func forgetHistoryMarks(of connection: WebSocketConnection) {
        if !historyMarks.isEmpty { historyMarks[ObjectIdentifier(connection)] = nil }
    }

    private var dateSecond = -1
    private var dateValue = ""

    /// Set when the server starts draining (`Server.isDraining`).
    let draining: DrainFlag

    init(loop: EventLoop, routes: RouteTable, configuration: ServerConfiguration, pubsub: PubSub, webSockets: WebSocketCount, draining: DrainFlag) {
        self.loop = loop
        self.draining = draining
        counts = LoopCounts(routeCount: routes.webSocketRouteCount, httpRouteCount: routes.httpRouteCount)
        self.webSockets = webSockets
        self.pubsub = pubsub
        self.routes = routes
        self.configuration = configuration
        httpTimers = HTTPConnectionTimers.Settings(
            requestTimeout: configuration.http.requestTimeout.milliseconds,
            keepAliveTimeout: configuration.http.keepAliveTimeout.milliseconds)
    }

    deinit { counts.deallocate() }

    var logger: Logger { configuration.logger }

    /// Whether `maxWebSockets` leaves room for one more, and the server is
    /// not draining (its clients are about to be sent elsewhere).
    var hasRoomForAWebSocket: Bool {
        guard !draining.isSet else { return false }
        guard let limit = configuration.maxWebSockets else { return true }
        return webSockets.value < limit
    }

    /// Open WebSockets on this loop.
    var localWebSocketCount: Int { webSocketCount }

    func webSocketOpened() {
        webSocketCount += 1
        webSockets.add(1)
    }

    func webSocketClosed() {
        webSocketCount -= 1
        webSockets.add(-1)
        signalIfAllClosed()
    }

    private func signalIfAllClosed() {
        guard webSocketCount == 0, let closedAll else { return }
        self.closedAll = nil
        closedAll.countDown()
    }

    /// Sends 1001 to every WebSocket of this loop, spread over `window`
    /// (`DrainSchedule`), and closes each once that is written; counts
    /// `closedAll` down once none is left.
    func closeWebSocketsForShutdown(over window: Duration, then closedAll: Latch) {
        self.closedAll = closedAll
        var sockets: [WebSocketConnection] = []
        loop.forEachConnection { connection in
            if let socket = connection.currentDelegate as? WebSocketConnection { sockets.append(socket) }
        }
        var schedule = DrainSchedule(count: sockets.count, windowMilliseconds: window.milliseconds)
        var closing = sockets[...]
        func closeNextShare() -> Bool {
            guard let share = schedule.next() else { return false }
            for socket in closing.prefix(share) { socket.closeForServerShutdown() }
            closing = closing.dropFirst(share)
            return true
        }
        _ = closeNextShare()
        if !closing.isEmpty {
            var timer: LoopTimer?
            timer = LoopTimer(on: loop, after: DrainSchedule.tickMilliseconds, repeating: DrainSchedule.tickMilliseconds) {
                guard closeNextShare(), !closing.isEmpty else {
                    timer?.cancel()
                    timer = nil
                    return
                }
            }
        }
        signalIfAllClosed()
    }

    /// The `Date` field value (RFC 9110 §5.6.7 IMF-fixdate), formatted at
    /// most once a second per loop.
    var httpDate: String {
        let now = time(nil)
        if now != dateSecond {
            dateSecond = now
            dateValue = HTTPDate.format(now)
        }
        return dateValue
    }
}

/// Open WebSocket connections, counted by every loop: one atomic add per
/// open and close, read when an upgrade is decided.
final class WebSocketCount: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func add(_ delta: Int) { count.add(delta, ordering: .relaxed) }
}

/// Whether the server is draining: set once, read by every loop.
final class DrainFlag: Sendable {
    private let flag = Atomic(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
