/// The two timers of an HTTP/1.1 connection as a value: a request must
/// arrive whole within `requestTimeout` of its first byte (then 408), and a
/// keep-alive connection with no request under way is closed after
/// `keepAliveTimeout`. No clock: times come in as milliseconds.
public struct HTTPConnectionTimers: Sendable, Equatable {
    public struct Settings: Sendable, Hashable {
        public var requestTimeout: UInt64
        public var keepAliveTimeout: UInt64

        public init(requestTimeout: UInt64, keepAliveTimeout: UInt64) {
            self.requestTimeout = requestTimeout
            self.keepAliveTimeout = keepAliveTimeout
        }
    }

    public enum Action: Sendable, Equatable {
        case none
        /// A request did not arrive in time: answer 408 and close.
        case refuseSlowRequest
        /// An idle keep-alive connection: close it, nothing to say.
        case closeIdle
    }

    /// When the request under way began (its deadline does not move as
    /// more bytes trickle in), or nil between requests.
    private var requestStartedAt: UInt64?
    /// When the connection last became idle.
    private var idleSince: UInt64

    public init(now: UInt64) {
        idleSince = now
    }

    /// Input was parsed: `hasPartialRequest` says whether a request is under
    /// way (read in part) or the connection is between requests.
    public mutating func parsed(now: UInt64, hasPartialRequest: Bool) {
        if hasPartialRequest {
            if requestStartedAt == nil { requestStartedAt = now }
        } else {
            requestStartedAt = nil
            idleSince = now
        }
    }

    /// A whole request arrived: a partial one after it starts its own clock.
    public mutating func requestReceived() {
        requestStartedAt = nil
    }

    /// When `fire` will act.
    public func deadline(_ settings: Settings) -> UInt64 {
        if let requestStartedAt { return Self.after(requestStartedAt, settings.requestTimeout) }
        return Self.after(idleSince, settings.keepAliveTimeout)
    }

    public func fire(now: UInt64, _ settings: Settings) -> Action {
        guard now >= deadline(settings) else { return .none }
        return requestStartedAt == nil ? .closeIdle : .refuseSlowRequest
    }

    private static func after(_ instant: UInt64, _ duration: UInt64) -> UInt64 {
        let (sum, overflow) = instant.addingReportingOverflow(duration)
        return overflow ? .max : sum
    }
}
