import Foundation
import SwitchboardIO
import SwitchboardSync

/// What the dashboard shows, sampled once a second: each loop takes its own
/// figures on its thread (its counts, connections, queued bytes, busiest
/// topics) and the first loop combines the latest of each into a sample,
/// keeps the last five minutes of them, and publishes it to the dashboard's
/// topic, whose pages draw it.
final class DashboardFeed: Sendable {
    /// A topic name nobody can guess, so only the dashboard's own socket
    /// (which checks `authorize`) hears the samples.
    let topic = "switchboard.dashboard." + UUID().uuidString
    static let historyLength = 300
    static let intervalMilliseconds: UInt64 = 1_000

    private let state = Locked(State())

    private struct State {
        var latest: [LoopSample] = []
        var history: [String] = []
        var publishes = 0
        var publishedAt: UInt64 = 0
    }

    /// One loop's figures at one second, rates per second.
    struct LoopSample {
        var connections = 0
        var received = 0.0
        var sent = 0.0
        var deliveries = 0.0
        var drops = 0.0
        var responses = 0.0
        var queuedBytes = 0
        var topics: [(topic: String, subscribers: Int)] = []
    }

    /// The last samples (JSON objects), oldest first.
    var historyJSON: String { "[" + state.withLock { $0.history }.joined(separator: ",") + "]" }

    /// Starts sampling on every loop; the timers end with `stop(on:)`.
    func start(on contexts: [LoopContext]) {
        state.withLock { $0.latest = Array(repeating: LoopSample(), count: contexts.count) }
        for context in contexts {
            _ = context.loop.execute { [self] in
                var previous = Totals(context.counts)
                var previousAt = context.loop.now
                context.dashboardTimer = LoopTimer(on: context.loop, after: Self.intervalMilliseconds, repeating: Self.intervalMilliseconds) { [self] in
                    let now = context.loop.now
                    let totals = Totals(context.counts)
                    let seconds = Double(max(now - previousAt, 1)) / 1_000
                    var queued = 0
                    context.loop.forEachConnection { queued += $0.queuedByteCount }
                    let sample = LoopSample(
                        connections: context.localWebSocketCount,
                        received: Double(totals.received - previous.received) / seconds,
                        sent: Double(totals.sent - previous.sent) / seconds,
                        deliveries: Double(totals.deliveries - previous.deliveries) / seconds,
                        drops: Double(totals.drops - previous.drops) / seconds,
                        responses: Double(totals.responses - previous.responses) / seconds,
                        queuedBytes: queued,
                        topics: context.pubsub.hub.busiestTopics(onLoop: context.loop.index, limit: 5))
                    (previous, previousAt) = (totals, now)
                    let combined = record(sample, loop: context.loop.index, pubsub: context.pubsub, now: now)
                    if let combined { context.pubsub.publish(topic, text: combined) }
                }
            }
        }
    }

    /// Keeps a loop's sample; on the first loop, also combines all loops'
    /// latest into the JSON the pages get (returned, to publish).
    private func record(_ sample: LoopSample, loop: Int, pubsub: PubSub, now: UInt64) -> String? {
        state.withLock { state in
            guard loop < state.latest.count else { return nil }
            state.latest[loop] = sample
            guard loop == 0 else { return nil }
            let publishes = pubsub.publishCount
            let seconds = state.publishedAt == 0 ? 1 : Double(max(now - state.publishedAt, 1)) / 1_000
            let publishRate = state.publishedAt == 0 ? 0 : Double(publishes - state.publishes) / seconds
            (state.publishes, state.publishedAt) = (publishes, now)
            let json = Self.json(state.latest, publishes: publishRate, topics: pubsub.topicCount)
            state.history.append(json)
            if state.history.count > Self.historyLength { state.history.removeFirst(state.history.count - Self.historyLength) }
            return json
        }
    }

    static func json(_ loops: [LoopSample], publishes: Double, topics: Int) -> String {
        func sum(_ value: (LoopSample) -> Double) -> Double { loops.reduce(0) { $0 + value($1) } }
        var busiest: [String: Int] = [:]
        for loop in loops { for (topic, count) in loop.topics { busiest[topic, default: 0] += count } }
        let top = busiest.filter { !$0.key.hasPrefix("switchboard.dashboard.") }.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(5)
        let object: [String: Any] = [
            "time": Date().timeIntervalSince1970,
            "connections": loops.reduce(0) { $0 + $1.connections },
            "received": sum(\.received), "sent": sum(\.sent), "deliveries": sum(\.deliveries),
            "publishes": publishes, "drops": sum(\.drops), "responses": sum(\.responses),
            "queuedBytes": loops.reduce(0) { $0 + $1.queuedBytes },
            "topicCount": topics,
            "loops": loops.map { ["connections": $0.connections, "messages": $0.received + $0.sent] as [String: Any] },
            "topics": top.map { ["topic": $0.key, "subscribers": $0.value] as [String: Any] },
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// On `context`'s loop.
    static func stop(on context: LoopContext) {
        context.dashboardTimer?.cancel()
        context.dashboardTimer = nil
    }
}

/// A loop's running totals, summed over its routes.
private struct Totals {
    var received = 0, sent = 0, deliveries = 0, drops = 0, responses = 0

    init(_ counts: LoopCounts) {
        for route in 0..<counts.routeCount {
            received += counts.value(.messagesReceived, route: route)
            sent += counts.value(.messagesSent, route: route)
            drops += counts.value(.slowConsumerDrops, route: route) + counts.value(.slowConsumerCloses, route: route)
        }
        deliveries = counts.value(.deliveries)
        responses = [LoopField.responses1xx, .responses2xx, .responses3xx, .responses4xx, .responses5xx].reduce(0) { $0 + counts.value($1) }
        for route in 0..<counts.httpRouteCount {
            responses += (0..<5).reduce(0) { $0 + counts.responses(httpRoute: route, statusClass: $1) }
        }
    }
}
