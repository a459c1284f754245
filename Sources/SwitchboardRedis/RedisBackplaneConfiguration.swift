public import Logging

/// How a `RedisBackplane` names its channels, reconnects and bounds its
/// memory. Every field has a default.
public struct RedisBackplaneConfiguration: Sendable {
    /// Put before each topic to make its Redis channel name. Default
    /// `"switchboard:"`. Nodes that should share topics use the same
    /// prefix; applications sharing one Redis server use different ones.
    public var channelPrefix: String
    /// Time between reconnection attempts: the first wait, and the most it
    /// grows to (doubling, with jitter). Default 100 ms to 5 s:
    /// quick after a blip, gentle on a Redis that is down for longer.
    public var reconnectDelay: ClosedRange<Duration>
    /// How long one connection attempt may take. Default 2 s (hiredis
    /// itself would wait for the kernel's TCP timeout).
    public var connectTimeout: Duration
    /// Bytes of PUBLISH commands sent but not yet confirmed by Redis. Past
    /// it, publishes are dropped and counted like during an outage, so a
    /// slow or stalled Redis never grows this process's memory without
    /// bound. Default 64 MiB.
    public var maxPendingPublishBytes: Int
    /// Connection losses and refusals are logged here.
    public var logger: Logger

    public init(
        channelPrefix: String = "switchboard:",
        reconnectDelay: ClosedRange<Duration> = .milliseconds(100) ... .seconds(5),
        connectTimeout: Duration = .seconds(2),
        maxPendingPublishBytes: Int = 64 << 20,
        logger: Logger = Logger(label: "switchboard.redis")
    ) {
        precondition(reconnectDelay.lowerBound > .zero, "reconnectDelay must start above zero")
        self.channelPrefix = channelPrefix
        self.reconnectDelay = reconnectDelay
        self.connectTimeout = connectTimeout
        self.maxPendingPublishBytes = maxPendingPublishBytes
        self.logger = logger
    }
}
