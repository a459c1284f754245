public import Logging
public import SwitchboardIO
public import SwitchboardWire

/// How a `Server` listens and runs. Every field has a default that is safe
/// to expose to untrusted clients.
public struct ServerConfiguration: Sendable {
    /// Address to bind. Default `127.0.0.1`: loopback only, so a server is
    /// never exposed by accident; use `0.0.0.0` or `::` to listen on every
    /// interface.
    public var host: String
    /// Port to bind; 0 picks a free one (read it back from `Server.address`).
    public var port: Int
    /// Event loops, one thread each. Default: `System.defaultLoopCount`,
    /// one per core but one (at least one), which leaves a core for the
    /// kernel's network work and the application's own threads.
    public var loopCount: Int
    /// How new connections are spread over the loops.
    public var distribution: ConnectionDistribution
    /// Kernel listen backlog: connections the kernel queues before they are
    /// accepted. Default 1024: a burst of a thousand connects.
    public var backlog: Int32
    /// Bytes each loop reads at once into its one receive buffer, shared
    /// by all its connections (so a connection has no read buffer of its
    /// own). Default 64 KiB: many frames per read.
    public var readBufferSize: Int
    /// Plain HTTP limits and timeouts.
    public var http: HTTPConfiguration
    /// How long `stop()` waits for WebSocket connections to finish their
    /// close after the 1001. Default 2 s.
    public var shutdownGracePeriod: Duration
    /// On a graceful shutdown (a `ServiceGroup`'s, or the signal
    /// `runUntilTerminated()` waits for), how long the server goes on
    /// serving its WebSockets and HTTP before the 1001s go out: time for a
    /// load balancer to take the instance out of rotation (answer 503 on
    /// its readiness check while `Server.isDraining`:
    /// `readinessRoute(at:)`). Meanwhile new upgrades get 503 with
    /// `Retry-After: 5` and HTTP responses `Connection: close`. `stop()`
    /// itself does not wait. Default 0.
    public var drainDelay: Duration
    /// The most WebSocket connections the server holds at once, over all
    /// its loops. Past it, upgrade requests are answered 503 with
    /// `Retry-After: 5` (the handshake is still checked first), while plain
    /// HTTP goes on being served. Checked when an upgrade is decided, so
    /// upgrades already waiting in an `async` authenticator can pass it by
    /// that many. Default `nil`: no limit but the process's descriptors.
    public var maxWebSockets: Int?
    /// The most bytes all connections together may have waiting to be
    /// written (each loop keeps a 1/loopCount share). Past it, checked
    /// every 100 ms, the WebSockets with the longest queues, the slowest
    /// consumers, are dropped first (their handlers hear 1006) until the
    /// loop is under 90 % of its share; each route's `maxQueuedBytes` still
    /// applies per connection. Default 1 GiB; nil: no node-wide limit.
    public var maxQueuedBytesTotal: Int?
    /// How fast a stopping server sends its 1001s: this many a second over
    /// all loops, spread evenly, so 10,000 clients do not all reconnect to
    /// the remaining nodes in the same second (the JS client also waits a
    /// random backoff). Default 2,000 a second: 20 clients take 10 ms,
    /// 10,000 take 5 s. 0 sends them all at once.
    public var drainCloseRate: Int
    /// The longest the 1001s are spread over, however many clients there
    /// are. `stop()` waits this plus `shutdownGracePeriod` at most.
    /// Default 10 s.
    public var drainWindow: Duration
    /// How often each loop hands its counts to the metrics backend the app
    /// bootstrapped (swift-metrics; names in Docs/Operations.md). Counting
    /// itself is a plain add on the loop's thread; without a backend
    /// nothing is reported. Default 1 s.
    public var metricsInterval: Duration
    /// Topics that keep their latest messages so reconnecting clients
    /// recover what they missed. Default: none.
    public var history: TopicHistory
    /// Carries publishes to and from other Switchboard processes (the
    /// Redis backplane). Default `nil`: one process, nothing to run.
    public var backplane: (any Backplane)?
    /// Where the server logs refusals it cannot send back and handler errors.
    public var logger: Logger

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        loopCount: Int = System.defaultLoopCount,
        distribution: ConnectionDistribution = .reusePort,
        backlog: Int32 = 1024,
        readBufferSize: Int = 64 * 1024,
        http: HTTPConfiguration = HTTPConfiguration(),
        shutdownGracePeriod: Duration = .seconds(2),
        drainDelay: Duration = .zero,
        maxWebSockets: Int? = nil,
        maxQueuedBytesTotal: Int? = 1 << 30,
        drainCloseRate: Int = 2_000,
        drainWindow: Duration = .seconds(10),
        metricsInterval: Duration = .seconds(1),
        history: TopicHistory = TopicHistory(),
        backplane: (any Backplane)? = nil,
        logger: Logger = Logger(label: "switchboard")
    ) {
        self.host = host
        self.port = port
        self.loopCount = loopCount
        self.distribution = distribution
        self.backlog = backlog
        self.readBufferSize = readBufferSize
        self.http = http
        self.shutdownGracePeriod = shutdownGracePeriod
        self.drainDelay = drainDelay
        self.maxWebSockets = maxWebSockets
        self.maxQueuedBytesTotal = maxQueuedBytesTotal
        self.drainCloseRate = drainCloseRate
        self.drainWindow = drainWindow
        self.metricsInterval = metricsInterval
        self.history = history
        self.backplane = backplane
        self.logger = logger
    }
}

/// Limits and timeouts of the HTTP/1.1 host.
public struct HTTPConfiguration: Sendable {
    /// Parser limits: head size (431), header count (431), request-target
    /// length (414), body size (413). See `HTTPParserLimits` for defaults.
    public var limits: HTTPParserLimits
    /// Time from a request's first byte to its last; past it the server
    /// answers 408 and closes. Default 10 s: enough for any
    /// honest client, short enough that a trickling one (slowloris) cannot
    /// hold a connection for long.
    ///
    /// On Linux the kernel hands a new connection to the server only with
    /// its first bytes (`TCP_DEFER_ACCEPT`), or after about this long (whole
    /// seconds, at least 1) without them; one that still says nothing is
    /// then closed after `keepAliveTimeout`, as an idle one is.
    public var requestTimeout: Duration
    /// How long a keep-alive connection may sit idle between requests
    /// before it is closed silently. Default 30 s.
    public var keepAliveTimeout: Duration
    /// Response bytes a connection may have queued before the server stops
    /// reading its further pipelined requests, until the peer catches up.
    /// Default 1 MiB: a client that pipelines without reading cannot make
    /// the server buffer without bound.
    public var maxQueuedResponseBytes: Int

    public init(
        limits: HTTPParserLimits = .default,
        requestTimeout: Duration = .seconds(10),
        keepAliveTimeout: Duration = .seconds(30),
        maxQueuedResponseBytes: Int = 1 << 20
    ) {
        self.limits = limits
        self.requestTimeout = requestTimeout
        self.keepAliveTimeout = keepAliveTimeout
        self.maxQueuedResponseBytes = maxQueuedResponseBytes
    }
}
