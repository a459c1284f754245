import CoreMetrics
import SwitchboardSync

/// A server's swift-metrics instruments (names and labels in
/// `Docs/Operations.md`), made once when it starts and shared by its loops,
/// which report their counts into them (`LoopMetricsReporter`).
final class MetricsInstruments: Sendable {
    /// Whether the app bootstrapped a metrics backend: without one the
    /// server starts no reporting at all.
    static var backendIsBootstrapped: Bool { !(MetricsSystem.factory is NOOPMetricsHandler) }

    let routes: [RouteInstruments]
    /// Responses no route answered (refusals, 404, 405), by status class.
    let httpResponses: [Counter]
    /// Each HTTP route's responses, by status class.
    let httpRouteResponses: [[Counter]]
    let deliveries = Counter(label: "switchboard_deliveries_total")
    let publishes = Counter(label: "switchboard_publishes_total")
    let topics = Gauge(label: "switchboard_topics")
    let historyBytes = Gauge(label: "switchboard_history_bytes")
    let historyTopics = Gauge(label: "switchboard_history_topics")
    let queuedBytes: [Gauge]
    private let refusals = Locked<[Int: Counter]>([:])

    init(webSocketRoutes: [String], httpRoutes: [String], loopCount: Int) {
        routes = webSocketRoutes.map(RouteInstruments.init)
        func responses(_ route: String) -> [Counter] {
            (1...5).map { Counter(label: "switchboard_http_responses_total", dimensions: [("route", route), ("status_class", "\($0)xx")]) }
        }
        httpResponses = responses("")
        httpRouteResponses = httpRoutes.map(responses)
        queuedBytes = (0..<loopCount).map { Gauge(label: "switchboard_queued_bytes", dimensions: [("loop", "\($0)")]) }
    }

    /// The counter of upgrades refused with `status` (made on first use).
    func refusals(status: Int) -> Counter {
        refusals.withLock { counters in
            if let counter = counters[status] { return counter }
            let counter = Counter(label: "switchboard_upgrades_refused_total", dimensions: [("status", "\(status)")])
            counters[status] = counter
            return counter
        }
    }
}

/// One WebSocket route's instruments, labelled with its pattern.
struct RouteInstruments: Sendable {
    let opened: Counter
    let closed: [Counter]
    let open: Meter
    let messagesReceived: Counter
    let bytesReceived: Counter
    let messagesSent: Counter
    let bytesSent: Counter
    let slowConsumerDrops: Counter
    let slowConsumerCloses: Counter

    init(route: String) {
        let label = [("route", route)]
        opened = Counter(label: "switchboard_websocket_connections_opened_total", dimensions: label)
        closed = CloseClass.allCases.map {
            Counter(label: "switchboard_websocket_connections_closed_total", dimensions: label + [("close", $0.label)])
        }
        open = Meter(label: "switchboard_websocket_connections", dimensions: label)
        messagesReceived = Counter(label: "switchboard_websocket_messages_received_total", dimensions: label)
        bytesReceived = Counter(label: "switchboard_websocket_received_bytes_total", dimensions: label)
        messagesSent = Counter(label: "switchboard_websocket_messages_sent_total", dimensions: label)
        bytesSent = Counter(label: "switchboard_websocket_sent_bytes_total", dimensions: label)
        slowConsumerDrops = Counter(label: "switchboard_slow_consumer_drops_total", dimensions: label)
        slowConsumerCloses = Counter(label: "switchboard_slow_consumer_closes_total", dimensions: label)
    }
}
