import CoreMetrics
import SwitchboardIO

/// Hands one loop's counts (`LoopMetrics`) to the server's instruments on
/// a timer, as differences since the last report. On the loop's thread.
final class LoopMetricsReporter {
    private let metrics: LoopMetrics
    private let counts: LoopCounts
    private let instruments: MetricsInstruments
    private let loop: EventLoop
    /// Reports what the whole server counts (publishes, topics) too.
    private let reportsServerWide: Bool
    private let publishes: () -> Int
    private let topics: () -> Int
    /// Bytes and topics the node's history holds (nil without history).
    private let history: () -> (bytes: Int, topics: Int)?
    private var timer: LoopTimer?

    private var reportedRoutes: [RouteSnapshot] = []
    private var reportedResponses = [Int](repeating: 0, count: 5)
    private var reportedRouteResponses: [[Int]] = []
    private var reportedRefusals: [Int: Int] = [:]
    private var reportedDeliveries = 0
    private var reportedPublishes = 0

    init(
        metrics: LoopMetrics, counts: LoopCounts, instruments: MetricsInstruments, loop: EventLoop,
        publishes: @escaping () -> Int, topics: @escaping () -> Int, history: @escaping () -> (bytes: Int, topics: Int)?
    ) {
        self.metrics = metrics
        self.counts = counts
        self.instruments = instruments
        self.loop = loop
        reportsServerWide = loop.index == 0
        self.publishes = publishes
        self.topics = topics
        self.history = history
    }

    func start(every interval: Duration) {
        let milliseconds = max(interval.milliseconds, 1)
        timer = LoopTimer(on: loop, after: milliseconds, repeating: milliseconds) { [unowned self] in report() }
    }

    /// A last report, then no more.
    func stop() {
        timer?.cancel()
        timer = nil
        report()
    }

    func report() {
        for route in 0..<min(counts.routeCount, instruments.routes.count) {
            if route >= reportedRoutes.count { reportedRoutes.append(RouteSnapshot()) }
            let now = RouteSnapshot(counts, route: route)
            now.report(since: reportedRoutes[route], to: instruments.routes[route])
            reportedRoutes[route] = now
        }
        let responses: [LoopField] = [.responses1xx, .responses2xx, .responses3xx, .responses4xx, .responses5xx]
        for (index, field) in responses.enumerated() where counts.value(field) != reportedResponses[index] {
            instruments.httpResponses[index].increment(by: Int64(counts.value(field) - reportedResponses[index]))
            reportedResponses[index] = counts.value(field)
        }
        for route in 0..<min(counts.httpRouteCount, instruments.httpRouteResponses.count) {
            if route >= reportedRouteResponses.count { reportedRouteResponses.append([Int](repeating: 0, count: 5)) }
            for statusClass in 0..<5 {
                let count = counts.responses(httpRoute: route, statusClass: statusClass)
                let change = count - reportedRouteResponses[route][statusClass]
                if change != 0 { instruments.httpRouteResponses[route][statusClass].increment(by: Int64(change)) }
                reportedRouteResponses[route][statusClass] = count
            }
        }
        for (status, count) in metrics.refusals where count != reportedRefusals[status] {
            instruments.refusals(status: status).increment(by: Int64(count - reportedRefusals[status, default: 0]))
            reportedRefusals[status] = count
        }
        let deliveries = counts.value(.deliveries)
        if deliveries != reportedDeliveries {
            instruments.deliveries.increment(by: Int64(deliveries - reportedDeliveries))
            reportedDeliveries = deliveries
        }
        var queued = 0
        loop.forEachConnection { queued += $0.queuedByteCount }
        instruments.queuedBytes[loop.index].record(queued)
        guard reportsServerWide else { return }
        let published = publishes()
        if published != reportedPublishes {
            instruments.publishes.increment(by: Int64(published - reportedPublishes))
            reportedPublishes = published
        }
        instruments.topics.record(topics())
        if let (bytes, topics) = history() {
            instruments.historyBytes.record(bytes)
            instruments.historyTopics.record(topics)
        }
    }
}

/// A route's counts at one report.
private struct RouteSnapshot {
    var opened = 0
    var closed = [Int](repeating: 0, count: CloseClass.allCases.count)
    var open = 0
    var messagesReceived = 0
    var bytesReceived = 0
    var messagesSent = 0
    var bytesSent = 0
    var slowConsumerDrops = 0
    var slowConsumerCloses = 0

    init() {}

    init(_ counts: LoopCounts, route: Int) {
        opened = counts.value(.opened, route: route)
        closed = CloseClass.allCases.map { counts.value(RouteField(rawValue: RouteField.closedNormal.rawValue + $0.rawValue)!, route: route) }
        open = opened - closed.reduce(0, +)
        messagesReceived = counts.value(.messagesReceived, route: route)
        bytesReceived = counts.value(.bytesReceived, route: route)
        messagesSent = counts.value(.messagesSent, route: route)
        bytesSent = counts.value(.bytesSent, route: route)
        slowConsumerDrops = counts.value(.slowConsumerDrops, route: route)
        slowConsumerCloses = counts.value(.slowConsumerCloses, route: route)
    }

    func report(since last: RouteSnapshot, to instruments: RouteInstruments) {
        func add(_ counter: Counter, _ now: Int, _ then: Int) {
            if now != then { counter.increment(by: Int64(now - then)) }
        }
        add(instruments.opened, opened, last.opened)
        for index in closed.indices { add(instruments.closed[index], closed[index], last.closed[index]) }
        // A meter takes positive amounts only (a negative one is ignored).
        if open > last.open { instruments.open.increment(by: Double(open - last.open)) }
        if open < last.open { instruments.open.decrement(by: Double(last.open - open)) }
        add(instruments.messagesReceived, messagesReceived, last.messagesReceived)
        add(instruments.bytesReceived, bytesReceived, last.bytesReceived)
        add(instruments.messagesSent, messagesSent, last.messagesSent)
        add(instruments.bytesSent, bytesSent, last.bytesSent)
        add(instruments.slowConsumerDrops, slowConsumerDrops, last.slowConsumerDrops)
        add(instruments.slowConsumerCloses, slowConsumerCloses, last.slowConsumerCloses)
    }
}
