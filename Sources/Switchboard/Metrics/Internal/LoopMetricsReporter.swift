import CoreMetrics
import SwitchboardIO

/// Hands one loop's counts (`LoopMetrics`) to the server's instruments on
/// a timer, as differences since the last report. On the loop's thread.
final class LoopMetricsReporter {
    private let metrics: LoopMetrics
    private let instruments: MetricsInstruments
    private let loop: EventLoop
    /// Reports what the whole server counts (publishes, topics) too.
    private let reportsServerWide: Bool
    private let publishes: () -> Int
    private let topics: () -> Int
    private var timer: LoopTimer?

    private var reportedRoutes: [RouteSnapshot] = []
    private var reportedResponses = [Int](repeating: 0, count: 5)
    private var reportedRefusals: [Int: Int] = [:]
    private var reportedDeliveries = 0
    private var reportedPublishes = 0

    init(metrics: LoopMetrics, instruments: MetricsInstruments, loop: EventLoop, publishes: @escaping () -> Int, topics: @escaping () -> Int) {
        self.metrics = metrics
        self.instruments = instruments
        self.loop = loop
        reportsServerWide = loop.index == 0
        self.publishes = publishes
        self.topics = topics
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
        for (index, counts) in metrics.routes.enumerated() where index < instruments.routes.count {
            if index >= reportedRoutes.count { reportedRoutes.append(RouteSnapshot()) }
            let now = RouteSnapshot(counts)
            now.report(since: reportedRoutes[index], to: instruments.routes[index])
            reportedRoutes[index] = now
        }
        for index in 0..<5 where metrics.httpResponses[index] != reportedResponses[index] {
            instruments.httpResponses[index].increment(by: Int64(metrics.httpResponses[index] - reportedResponses[index]))
            reportedResponses[index] = metrics.httpResponses[index]
        }
        for (status, count) in metrics.refusals where count != reportedRefusals[status] {
            instruments.refusals(status: status).increment(by: Int64(count - reportedRefusals[status, default: 0]))
            reportedRefusals[status] = count
        }
        if metrics.deliveries != reportedDeliveries {
            instruments.deliveries.increment(by: Int64(metrics.deliveries - reportedDeliveries))
            reportedDeliveries = metrics.deliveries
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

    init(_ counts: RouteCounts) {
        opened = counts.opened
        closed = counts.closed
        open = counts.opened - counts.closed.reduce(0, +)
        messagesReceived = counts.messagesReceived
        bytesReceived = counts.bytesReceived
        messagesSent = counts.messagesSent
        bytesSent = counts.bytesSent
        slowConsumerDrops = counts.slowConsumerDrops
        slowConsumerCloses = counts.slowConsumerCloses
    }

    func report(since last: RouteSnapshot, to instruments: RouteInstruments) {
        func add(_ counter: Counter, _ now: Int, _ then: Int) {
            if now != then { counter.increment(by: Int64(now - then)) }
        }
        add(instruments.opened, opened, last.opened)
        for index in closed.indices { add(instruments.closed[index], closed[index], last.closed[index]) }
        if open != last.open { instruments.open.increment(by: Double(open - last.open)) }
        add(instruments.messagesReceived, messagesReceived, last.messagesReceived)
        add(instruments.bytesReceived, bytesReceived, last.bytesReceived)
        add(instruments.messagesSent, messagesSent, last.messagesSent)
        add(instruments.bytesSent, bytesSent, last.bytesSent)
        add(instruments.slowConsumerDrops, slowConsumerDrops, last.slowConsumerDrops)
        add(instruments.slowConsumerCloses, slowConsumerCloses, last.slowConsumerCloses)
    }
}
