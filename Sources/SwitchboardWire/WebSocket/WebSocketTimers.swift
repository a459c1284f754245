/// The timers of one WebSocket connection as a value: heartbeat pings, the
/// pong timeout, the idle timeout, the write stall and the closing
/// handshake's timeout. No clock: times come in as milliseconds on any
/// monotonic scale, and `fire` answers what to do; `deadline` answers when
/// to ask again. The connection keeps one deadline for all five.
///
/// The settings are the route's and the transport's state is the
/// connection's, so both are passed in rather than kept: a connection holds
/// only the four instants below.
public struct WebSocketTimers: Sendable, Equatable {
    /// The route's timeouts, in milliseconds.
    public struct Settings: Sendable, Hashable {
        public var pingInterval: UInt64?
        public var pongTimeout: UInt64
        public var idleTimeout: UInt64?
        public var writeTimeout: UInt64
        public var closeTimeout: UInt64

        public init(pingInterval: UInt64?, pongTimeout: UInt64, idleTimeout: UInt64?, writeTimeout: UInt64, closeTimeout: UInt64) {
            self.pingInterval = pingInterval
            self.pongTimeout = pongTimeout
            self.idleTimeout = idleTimeout
            self.writeTimeout = writeTimeout
            self.closeTimeout = closeTimeout
        }
    }

    /// What the connection's output looks like now.
    public struct Transport: Sendable, Equatable {
        /// Bytes are waiting to be written.
        public var hasQueuedBytes: Bool
        /// When the peer last took some of them (or the queue was last empty).
        public var lastWriteProgress: UInt64
        /// Input is not being read (backpressure): a pong may sit unread, so
        /// the pong timeout waits.
        public var isReadingPaused: Bool

        public init(hasQueuedBytes: Bool, lastWriteProgress: UInt64, isReadingPaused: Bool) {
            self.hasQueuedBytes = hasQueuedBytes
            self.lastWriteProgress = lastWriteProgress
            self.isReadingPaused = isReadingPaused
        }
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Send a ping (RFC 6455 §5.5.2); the pong timeout starts if it had not.
        case sendPing
        /// Start the closing handshake: the connection was idle.
        case close(WebSocketCloseCode, reason: String)
        /// The peer neither reads what it is sent nor answers pings: no
        /// close frame can reach it, so the TCP connection is dropped.
        case dropConnection
        /// The peer never answered our close frame.
        case closeTimedOut
    }

    /// Instants in ms; `never` stands for "not set" (no optionals: four
    /// words per connection instead of seven).
    private static let never = UInt64.max
    private var nextPingAt: UInt64
    /// When a ping went out with nothing received since.
    private var awaitingLifeSince = never
    private var lastMessageAt: UInt64
    private var closeSentAt = never

    /// `instant + duration`, saturating: a timeout of `UInt64.max` means never.
    private static func after(_ instant: UInt64, _ duration: UInt64) -> UInt64 {
        let (sum, overflow) = instant.addingReportingOverflow(duration)
        return overflow ? never : sum
    }

    public init(settings: Settings, now: UInt64) {
        nextPingAt = settings.pingInterval.map { Self.after(now, $0) } ?? Self.never
        lastMessageAt = now
    }

    /// Some bytes arrived: the peer is alive, whatever they are.
    public mutating func inputArrived() {
        awaitingLifeSince = Self.never
    }

    /// A whole message arrived (the idle timeout counts from the last one).
    public mutating func messageArrived(now: UInt64) {
        lastMessageAt = now
    }

    /// Our close frame was queued: from now on only its timeout applies
    /// besides the peer's liveness; no pings, no idle close.
    public mutating func closeSent(now: UInt64) {
        closeSentAt = now
    }

    /// Reading resumed after a pause: a pong held up in the unread input
    /// was not the peer's fault, so its wait starts again.
    public mutating func readingResumed(now: UInt64) {
        if awaitingLifeSince != Self.never { awaitingLifeSince = now }
    }

    /// The earliest instant at which `fire` would answer something, or nil.
    public func deadline(_ settings: Settings, _ transport: Transport) -> UInt64? {
        var earliest = Self.never
        if closeSentAt != Self.never { earliest = min(earliest, Self.after(closeSentAt, settings.closeTimeout)) }
        if transport.hasQueuedBytes { earliest = min(earliest, Self.after(transport.lastWriteProgress, settings.writeTimeout)) }
        if awaitingLifeSince != Self.never, !transport.isReadingPaused {
            earliest = min(earliest, Self.after(awaitingLifeSince, settings.pongTimeout))
        }
        if closeSentAt == Self.never {
            if let idle = settings.idleTimeout { earliest = min(earliest, Self.after(lastMessageAt, idle)) }
            if settings.pingInterval != nil { earliest = min(earliest, nextPingAt) }
        }
        return earliest == Self.never ? nil : earliest
    }

    /// What is due at `now`, most severe first; records a ping it asks for.
    public mutating func fire(now: UInt64, _ settings: Settings, _ transport: Transport) -> Action {
        if closeSentAt != Self.never, now >= Self.after(closeSentAt, settings.closeTimeout) {
            return .closeTimedOut
        }
        if transport.hasQueuedBytes, now >= Self.after(transport.lastWriteProgress, settings.writeTimeout) {
            return .dropConnection  // it is not reading
        }
        if awaitingLifeSince != Self.never, !transport.isReadingPaused, now >= Self.after(awaitingLifeSince, settings.pongTimeout) {
            return .dropConnection  // it is not answering
        }
        guard closeSentAt == Self.never else { return .none }
        if let idle = settings.idleTimeout, now >= Self.after(lastMessageAt, idle) {
            return .close(.goingAway, reason: "idle")
        }
        if let interval = settings.pingInterval, now >= nextPingAt {
            if awaitingLifeSince == Self.never { awaitingLifeSince = now }
            nextPingAt = Self.after(now, interval)
            return .sendPing
        }
        return .none
    }
}
