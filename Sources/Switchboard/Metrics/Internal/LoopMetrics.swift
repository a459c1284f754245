/// What one loop counts for the metrics (`Docs/Operations.md`): plain
/// integers touched only on the loop's thread, so counting costs an add on
/// the per-message path, no lock, atomic or allocation. `MetricsReporter`
/// hands the differences to swift-metrics on a timer.
///
/// The counts live in one table of integers reached through a pointer the
/// context holds (`LoopCounts`): an add through it takes no retain and no
/// exclusivity check, which class properties and arrays of objects did
/// (+25 % instructions per delivery, measured with callgrind).
final class LoopMetrics {
    /// Upgrade requests refused, by status code (a refusal's path, not a
    /// message's).
    var refusals: [Int: Int] = [:]

    func refused(status: Int) {
        refusals[status, default: 0] += 1
    }
}

/// One loop's integer counts: a row of `RouteField`s per WebSocket route,
/// then the loop's own (`LoopField`). Allocated when the loop's context is
/// made, freed with it; written on the loop's thread only.
struct LoopCounts {
    let routeCount: Int
    let httpRouteCount: Int
    private let base: UnsafeMutablePointer<Int>

    init(routeCount: Int, httpRouteCount: Int = 0) {
        self.routeCount = routeCount
        self.httpRouteCount = httpRouteCount
        let size = routeCount * RouteField.count + LoopField.count + httpRouteCount * 5
        base = .allocate(capacity: size)
        base.initialize(repeating: 0, count: size)
    }

    func deallocate() { base.deallocate() }

    /// Adds to a route's field (a route added after the start, which the
    /// router forbids, is not counted).
    @inline(__always)
    func add(_ amount: Int, _ field: RouteField, route: Int) {
        guard route < routeCount else { return }
        base[route &* RouteField.count &+ field.rawValue] &+= amount
    }

    /// A message and its bytes, in one row access.
    @inline(__always)
    func add(message bytes: Int, _ messages: RouteField, _ byteField: RouteField, route: Int) {
        guard route < routeCount else { return }
        let row = base + route &* RouteField.count
        row[messages.rawValue] &+= 1
        row[byteField.rawValue] &+= bytes
    }

    /// Several messages and their bytes, in one row access.
    @inline(__always)
    func add(messages: Int, bytes: Int, _ messageField: RouteField, _ byteField: RouteField, route: Int) {
        guard route < routeCount else { return }
        let row = base + route &* RouteField.count
        row[messageField.rawValue] &+= messages
        row[byteField.rawValue] &+= bytes
    }

    @inline(__always)
    func add(_ amount: Int, _ field: LoopField) {
        base[routeCount &* RouteField.count &+ field.rawValue] &+= amount
    }

    func value(_ field: RouteField, route: Int) -> Int { base[route * RouteField.count + field.rawValue] }
    func value(_ field: LoopField) -> Int { base[routeCount * RouteField.count + field.rawValue] }

    /// Counts a WebSocket's end by its close code's class.
    func closed(code: UInt16, route: Int) {
        add(1, RouteField(rawValue: RouteField.closedNormal.rawValue + CloseClass(code: code).rawValue)!, route: route)
    }

    /// Counts an HTTP response by its status class: one no route answered
    /// (a refusal, 404, 405), or `httpRoute`'s.
    func responded(status: Int, httpRoute: Int? = nil) {
        let statusClass = min(max(status / 100, 1), 5) - 1
        guard let httpRoute, httpRoute < httpRouteCount else {
            return add(1, LoopField(rawValue: LoopField.responses1xx.rawValue + statusClass)!)
        }
        base[routeCount &* RouteField.count &+ LoopField.count &+ httpRoute &* 5 &+ statusClass] &+= 1
    }

    /// Responses of `httpRoute` in status class `statusClass` (0: 1xx).
    func responses(httpRoute: Int, statusClass: Int) -> Int {
        base[routeCount * RouteField.count + LoopField.count + httpRoute * 5 + statusClass]
    }
}

/// A route's counts, in its row.
enum RouteField: Int, CaseIterable {
    case opened
    // One per `CloseClass`, in its order.
    case closedNormal, closedGoingAway, closedProtocolError, closedPolicyViolation, closedTooBig, closedServerError, closedAbnormal, closedOther
    case messagesReceived, bytesReceived, messagesSent, bytesSent, slowConsumerDrops, slowConsumerCloses

    static let count = allCases.count
}

/// A loop's own counts.
enum LoopField: Int, CaseIterable {
    case deliveries
    case responses1xx, responses2xx, responses3xx, responses4xx, responses5xx

    static let count = allCases.count
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
