import CHiredis
import CHiredisLibUV
import Logging
import SwitchboardIO

/// One hiredis async connection on an event loop that keeps itself
/// connected: after a failed attempt or a lost connection it tries again
/// with `ReconnectBackoff`, and logs in (AUTH, SELECT) each time.
///
/// Loop-bound: create it, use it and stop it on `loop`'s thread only.
///
/// Who frees the hiredis context: hiredis itself after a failed connect or
/// a lost connection (right after calling our callback, so the callbacks
/// only forget the pointer); `stop()` and the connect timeout otherwise,
/// always from outside hiredis's callbacks. The context's libuv poll
/// handle is closed by hiredis's adapter when the context is freed.
final class RedisLink {
    /// Tells a reply's callback what the command was. Passed as hiredis's
    /// `privdata`; a PUBLISH also carries its size there (see `privdata`).
    enum ReplyKind: Int {
        case login = 1
        case publish = 2
        case subscription = 3
        /// A history script (`RedisHistoryScripts`); answered in order.
        case history = 4
        /// `SCRIPT LOAD` of a history script.
        case script = 5
    }

    let loop: EventLoop
    private let url: RedisURL
    private let name: String
    private let logger: Logger
    private let connectTimeout: UInt64
    private var backoff: ReconnectBackoff

    private var context: UnsafeMutablePointer<redisAsyncContext>?
    /// Addresses of the last lookup not tried yet.
    private var untriedAddresses: ArraySlice<SocketAddress> = []
    private var retryTimer: LoopTimer?
    private var connectTimer: LoopTimer?
    private var stopTimer: LoopTimer?
    private var isStopped = false
    /// What `stop` should call once the connection is closed.
    private var onStopped: (() -> Void)?
    /// Set while the connection is lost until it is back, to log the
    /// outage once rather than every attempt.
    private var failedAttempts = 0

    /// Whether the connection is up (commands may be sent).
    private(set) var isReady = false

    /// The connection is up (AUTH and SELECT are already queued ahead).
    var onReady: () -> Void = {}
    /// The connection went down; hiredis has already answered the
    /// callbacks of commands still pending with a nil reply.
    var onLost: () -> Void = {}
    /// A reply to a PUBLISH or a subscription message; `nil` when the
    /// connection ended first. `size` is what `send(_:kind:size:)` was given.
    var onReply: (_ kind: ReplyKind, _ size: Int, _ reply: UnsafeMutablePointer<redisReply>?) -> Void = { _, _, _ in }

    init(loop: EventLoop, url: RedisURL, name: String, configuration: RedisBackplaneConfiguration) {
        self.loop = loop
        self.url = url
        self.name = name
        self.logger = configuration.logger
        self.connectTimeout = configuration.connectTimeout.milliseconds
        self.backoff = ReconnectBackoff(
            initial: configuration.reconnectDelay.lowerBound.milliseconds, maximum: configuration.reconnectDelay.upperBound.milliseconds)
    }

    /// Starts connecting.
    func start() {
        loop.assertInEventLoop()
        connect()
    }

    /// Stops reconnecting and closes the connection, then calls
    /// `completion`. With a grace period, commands already queued are
    /// still written and their replies read first (hiredis's
    /// `redisAsyncDisconnect`), for at most that long; past it, or without
    /// one, pending callbacks get a nil reply. Idempotent.
    func stop(gracePeriod: UInt64 = 0, then completion: @escaping () -> Void = {}) {
        loop.assertInEventLoop()
        isStopped = true
        retryTimer?.cancel()
        connectTimer?.cancel()
        let wasReady = isReady
        isReady = false
        guard let context else { return completion() }
        onStopped = completion
        guard gracePeriod > 0, wasReady else { return closeNow() }
        // May close at once (nothing pending), calling `disconnected`.
        redisAsyncDisconnect(context)
        if self.context != nil {
            stopTimer = LoopTimer(on: loop, after: gracePeriod) { [unowned self] in closeNow() }
        }
    }

    /// Frees the context (its disconnect callback runs if it was connected)
    /// and reports the stop.
    private func closeNow() {
        if let context {
            self.context = nil
            redisAsyncFree(context)
        }
        finishStopping()
    }

    private func finishStopping() {
        stopTimer?.cancel()
        let completion = onStopped
        onStopped = nil
        completion?()
    }

    /// Queues a command built by `RedisCommand`. `false` when the
    /// connection is not up (nothing is queued, no callback will run).
    func send(_ command: RedisCommand, kind: ReplyKind, size: Int = 0) -> Bool {
        guard isReady, let context else { return false }
        let status = command.withCString { text, count in
            redisAsyncFormattedCommand(context, { context, reply, privdata in
                RedisLink.from(context).received(reply, privdata)
            }, Self.privdata(kind, size), text, count)
        }
        return status == REDIS_OK
    }

    // MARK: Connecting

    /// Looks the host up off the loop first: hiredis would call a blocking
    /// `getaddrinfo` on this loop's thread, where a slow DNS server would
    /// stall every connection of the loop. Each address is tried in the
    /// resolver's order (`localhost` may be `::1` first while Redis listens
    /// on 127.0.0.1) before the backoff starts again.
    private func connect() {
        guard !isStopped else { return }
        HostResolver.resolve(url.host, port: url.port, on: loop) { [self] result in
            switch result {
            case .success(let addresses):
                untriedAddresses = addresses[...]
                connectToNextAddress(failure: "no address")
            case .failure(let error):
                retry(after: "cannot resolve \(url.host): \(error)")
            }
        }
    }

    /// Tries the next address of the last lookup, or waits out the backoff
    /// when none is left; `failure` is why the previous one did not work.
    private func connectToNextAddress(failure: String) {
        guard !isStopped else { return }
        guard let address = untriedAddresses.popFirst() else { return retry(after: failure) }
        guard let context = redisAsyncConnect(address.host, Int32(address.port)) else {
            return retry(after: "out of memory")
        }
        if context.pointee.err != 0 {
            // Refused at once (nothing listens there).
            let reason = String(cString: context.pointee.errstr)
            redisAsyncFree(context)
            return connectToNextAddress(failure: reason)
        }
        ReplyGuard.install(on: context)
        context.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        guard switchboard_redis_attach_libuv(context, loop.uvLoopPointer) == REDIS_OK else {
            redisAsyncFree(context)
            return retry(after: "could not watch the socket")
        }
        redisAsyncSetConnectCallback(context) { context, status in
            RedisLink.from(context).connected(status == REDIS_OK, context)
        }
        redisAsyncSetDisconnectCallback(context) { context, status in
            RedisLink.from(context).disconnected(context)
        }
        self.context = context
        // hiredis has no connect timeout of its own: an unreachable host
        // would otherwise hold the attempt for the kernel's ~2 minutes.
        connectTimer = LoopTimer(on: loop, after: connectTimeout) { [unowned self] in
            guard let context = self.context, !isReady else { return }
            self.context = nil
            redisAsyncFree(context)  // not connected yet: no callback runs
            connectToNextAddress(failure: "no connection within \(connectTimeout) ms")
        }
    }

    private func connected(_ succeeded: Bool, _ context: UnsafePointer<redisAsyncContext>?) {
        connectTimer?.cancel()
        guard succeeded else {
            // hiredis frees the context when this callback returns.
            let reason = context.map { String(cString: $0.pointee.errstr) } ?? "connect failed"
            self.context = nil
            return connectToNextAddress(failure: reason)
        }
        guard let context = self.context else { return }
        // Notices a peer that vanished without closing (hiredis: 15 s probes).
        redisEnableKeepAlive(&context.pointee.c)
        isReady = true
        if failedAttempts > 0 {
            logger.notice("redis: \(name) connection is back", metadata: ["url": "\(url)", "attempts": "\(failedAttempts)"])
        }
        failedAttempts = 0
        logIn()
        // Without a password there is nothing left to prove: the
        // connection works. With one, the AUTH reply decides.
        if url.password == nil { backoff.reset() }
        onReady()
    }

    private func logIn() {
        if let password = url.password {
            let command = url.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password)
            _ = send(command, kind: .login)
        }
        if url.database != 0 {
            _ = send(RedisCommand("SELECT", String(url.database)), kind: .login)
        }
    }

    private func disconnected(_ context: UnsafePointer<redisAsyncContext>?) {
        // hiredis frees the context when this callback returns.
        self.context = nil
        let wasReady = isReady
        isReady = false
        guard !isStopped else { return finishStopping() }
        let reason = context.flatMap { $0.pointee.errstr.map { String(cString: $0) } } ?? "closed"
        if wasReady { onLost() }
        retry(after: reason)
    }

    private func retry(after reason: String) {
        guard !isStopped else { return }
        failedAttempts += 1
        let delay = backoff.nextDelay()
        if failedAttempts == 1 {
            logger.warning("redis: \(name) connection down, retrying with backoff", metadata: ["url": "\(url)", "reason": "\(reason)"])
        } else {
            logger.debug("redis: \(name) connection attempt failed", metadata: ["reason": "\(reason)", "retry_ms": "\(delay)"])
        }
        retryTimer = LoopTimer(on: loop, after: delay) { [unowned self] in connect() }
    }

    // MARK: Replies

    private func received(_ reply: UnsafeMutableRawPointer?, _ privdata: UnsafeMutableRawPointer?) {
        let (kind, size) = Self.unpack(privdata)
        let reply = reply?.assumingMemoryBound(to: redisReply.self)
        guard kind == .login else { return onReply(kind, size, reply) }
        guard let reply else { return }
        if reply.pointee.type == REDIS_REPLY_ERROR {
            let message = reply.pointee.str.map { String(cString: $0) } ?? "error"
            logger.error("redis: \(name) connection refused the login", metadata: ["url": "\(url)", "reply": "\(message)"])
            // Closes once the replies already on their way are read; the
            // backoff keeps growing, so a wrong password is retried slowly.
            if let context { redisAsyncDisconnect(context) }
        } else if url.password != nil {
            backoff.reset()
        }
    }

    /// The kind in the low 3 bits, a PUBLISH's size above them: no
    /// allocation per command to remember either.
    private static func privdata(_ kind: ReplyKind, _ size: Int) -> UnsafeMutableRawPointer? {
        UnsafeMutableRawPointer(bitPattern: size << 3 | kind.rawValue)
    }

    private static func unpack(_ privdata: UnsafeMutableRawPointer?) -> (ReplyKind, Int) {
        let bits = Int(bitPattern: privdata)
        return (ReplyKind(rawValue: bits & 7) ?? .subscription, bits >> 3)
    }

    private static func from(_ context: UnsafePointer<redisAsyncContext>?) -> RedisLink {
        Unmanaged<RedisLink>.fromOpaque(context!.pointee.data).takeUnretainedValue()
    }

    private static func from(_ context: UnsafeMutablePointer<redisAsyncContext>?) -> RedisLink {
        from(UnsafePointer(context))
    }
}
