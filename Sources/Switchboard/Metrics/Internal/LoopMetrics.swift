/// What one loop counts for the metrics (`Docs/Operations.md`): plain
/// integers touched only on the loop's thread, so counting costs an add on
/// the per-message path, no lock, atomic or allocation. `MetricsReporter`
/// hands the differences to swift-metrics on a timer.
final class LoopMetrics {
    /// One WebSocket route's counts, by `WebSocketSettings.metricsIndex`.
    private(set) var routes: [RouteCounts] = []
    /// HTTP responses by status class (1xx … 5xx), upgrades' refusals too.
    var httpResponses = [Int](repeating: 0, count: 5)
    /// Upgrade requests refused, by status code.
    var refusals: [Int: Int] = [:]
    /// Published messages handed to this loop's subscribers.
    var deliveries = 0

    /// The counts of the route with `index` (made on first sight).
    @inline(__always)
    func route(_ index: Int) -> RouteCounts {
        if index < routes.count { return routes[index] }
        while routes.count <= index { routes.append(RouteCounts()) }
        return routes[index]
    }

    func responded(status: Int) {
        httpResponses[min(max(status / 100, 1), 5) - 1] += 1
    }

    func refused(status: Int) {
        refusals[status, default: 0] += 1
    }
}

/// One route's counts on one loop.
final class RouteCounts {
    var opened = 0
    var closed = [Int](repeating: 0, count: CloseClass.allCases.count)
    var messagesReceived = 0
    var bytesReceived = 0
    var messagesSent = 0
    var bytesSent = 0
    var slowConsumerDrops = 0
    var slowConsumerCloses = 0
}

/// How a WebSocket ended, as a metric label: the close code's class.
enum CloseClass: Int, CaseIterable {
    case normal, goingAway, protocolError, policyViolation, tooBig, serverError, abnormal, other

    init(code: UInt16) {
        switch code {
        case 1000: self = .normal
        case 1001: self = .goingAway
        case 1002, 1003, 1007, 1010: self = .protocolError
        case 1008: self = .policyViolation
        case 1009: self = .tooBig
        case 1011: self = .serverError
        case 1005, 1006: self = .abnormal
        default: self = .other
        }
    }

    var label: String {
        switch self {
        case .normal: "normal"
        case .goingAway: "going_away"
        case .protocolError: "protocol_error"
        case .policyViolation: "policy_violation"
        case .tooBig: "message_too_big"
        case .serverError: "server_error"
        case .abnormal: "abnormal"
        case .other: "other"
        }
    }
}
