import CHiredis
import CoreMetrics
import Glibc
import Logging
public import Switchboard
import SwitchboardSync
import Synchronization

/// A `Backplane` over Redis pub/sub: every node of an application points
/// at the same Redis server, and a publish on any node reaches the
/// subscribers on all of them.
///
/// ```swift
/// let backplane = try RedisBackplane(url: "redis://:secret@10.0.0.5:6379")
/// let server = Server(configuration: ServerConfiguration(backplane: backplane))
/// ```
///
/// How it works: two hiredis connections on the server's first event loop
/// (no thread of its own), one in subscriber mode, one for PUBLISH. Topic
/// `t` is the Redis channel `channelPrefix + t`. A node SUBSCRIBEs to a
/// channel only while it has local subscribers of the topic, and
/// UNSUBSCRIBEs when the last one leaves. Each message carries the sending
/// node's random id; a node drops its own messages when Redis hands them
/// back, because its local subscribers were served directly (exactly once).
/// Publishes from one thread keep their order on every node.
///
/// When Redis is unreachable: both connections retry with exponential
/// backoff and jitter (`reconnectDelay`), and on reconnecting SUBSCRIBE
/// again to every topic that still has local subscribers. Meanwhile local
/// subscribers are still served, but publishes cannot reach other nodes:
/// they are dropped, counted in `droppedPublishes`, and a warning is logged
/// once per outage. A publish Redis did not confirm before the connection
/// broke is counted too (it may or may not have gone out). Messages other
/// nodes publish while this node is disconnected are lost to it (Redis
/// pub/sub keeps no history), except on history topics.
///
/// History topics (`ServerConfiguration.history`; Redis 6.2 or later): a
/// Lua script numbers, keeps and publishes each message
/// (`RedisHistoryScripts`), so every node sees one order; nodes mirror the
/// streams of the topics they follow and read them again after a gap or a
/// lost link. While Redis is down, such publishes fail (`publishKept`
/// answers nil) instead of diverging between nodes.
///
/// Not supported: TLS to Redis (`rediss://` is refused; use a private
/// network or a tunnel), Unix sockets, Redis Cluster and Sentinel. Host
/// names are resolved on libuv's thread pool when (re)connecting
/// (`HostResolver`), never on the event loop, and each address is tried.
public final class RedisBackplane: HistoryBackplane, @unchecked Sendable {
    public let url: RedisURL
    public let configuration: RedisBackplaneConfiguration
    let node = NodeID.random()
    private let channelPrefix: [UInt8]
    private let logger: Logger

    // Any thread. A pthread lock rather than `Mutex`, so Thread Sanitizer
    // sees it (see `Locked`).
    private let outbox = Locked(Outbox())
    private let dropped = Atomic<Int>(0)
    private let confirmed = Atomic<Int>(0)
    private let received = Atomic<Int>(0)
    /// The backplane's metrics (Docs/Operations.md); on the loop.
    private var instruments: BackplaneInstruments?
    private var reportedDrops = 0
    private let connected = Atomic<Bool>(false)

    // Loop-bound: touched on the loop's thread only, after `start`.
    private var inbox: BackplaneInbox?
    private var publisher: RedisLink?
    private var subscriber: RedisLink?
    /// Topics with local subscribers, as last seen: what to SUBSCRIBE to
    /// after a reconnect.
    private var wanted: Set<String> = []
    /// Topics SUBSCRIBEd on the current subscriber connection.
    private var upstream: Set<String> = []
    private var pendingPublishBytes = 0
    /// A `SCRIPT LOAD` is on its way on the publishing connection.
    private var scriptsLoading = false
    /// A refused `SCRIPT LOAD` was logged on this connection.
    private var scriptRefusalLogged = false
    /// The last `SCRIPT LOAD` answered on this connection was refused, or
    /// Redis named a script by another digest than ours: a NOSCRIPT is
    /// then the request's answer (a read is not sent again: it would meet
    /// the same), though the scripts are loaded again.
    private var scriptsMissing = false
    /// A history publish Redis failed was logged on this connection.
    private var keptFailureLogged = false
    /// `droppedPublishes` when publishes began to be dropped, until one
    /// gets through again; nil meanwhile.
    private var outageStart: Int?
    /// History scripts in flight and reads waiting for their topic.
    private let kept = KeptRequests()

    /// Parses `url` (`redis://[[user]:password@]host[:port][/db]`); connects
    /// when the server starts.
    public convenience init(url: String, configuration: RedisBackplaneConfiguration = RedisBackplaneConfiguration()) throws(RedisURLError) {
        self.init(url: try RedisURL(parsing: url), configuration: configuration)
    }

    public init(url: RedisURL, configuration: RedisBackplaneConfiguration = RedisBackplaneConfiguration()) {
        self.url = url
        self.configuration = configuration
        self.channelPrefix = Array(configuration.channelPrefix.utf8)
        self.logger = configuration.logger
    }

    // MARK: Observing

    /// Publishes that did not reach Redis: made while it was unreachable,
    /// refused by it, past `maxPendingPublishBytes`, or unconfirmed when
    /// the connection broke.
    public var droppedPublishes: Int { dropped.load(ordering: .relaxed) }
    /// Publishes Redis confirmed.
    public var confirmedPublishes: Int { confirmed.load(ordering: .relaxed) }
    /// Messages from other nodes handed to local subscribers.
    public var receivedMessages: Int { received.load(ordering: .relaxed) }
    /// Whether both connections to Redis are up.
    public var isConnected: Bool { connected.load(ordering: .relaxed) }

    // MARK: Backplane

    public func start(_ inbox: BackplaneInbox) throws {
        outbox.withLock { $0.loop = inbox.loop }
        inbox.loop.execute { [self] in startOnLoop(inbox) }
    }

    /// Sends the publishes still queued (waiting up to one second for
    /// Redis to take them), then closes both connections. Publishes made
    /// after this are dropped and counted. Called on the backplane's loop,
    /// it cannot wait: what is not yet written is dropped.
    public func stop() {
        let loop = outbox.withLock { outbox in
            outbox.isStopped = true
            return outbox.loop
        }
        guard let loop else { return }
        if loop.inEventLoop { return stopOnLoop(gracePeriod: 0) {} }
        // Wait, so nothing arrives from Redis after stop() returns. The
        // server stops the backplane before its loops, so this runs.
        let done = Latch(count: 1)
        guard loop.execute({ [self] in
            stopOnLoop(gracePeriod: 1_000) { done.countDown() }
        }) else { return discardQueuedPublishes() }
        done.wait()
    }

    public func publish(_ topic: String, payload: [UInt8], isText: Bool) {
        var command = RedisCommand(argumentCount: 3, reservingCapacity: 48 + channelPrefix.count + topic.utf8.count + payload.count)
        command.append(argument: "PUBLISH".utf8)
        command.append(argument: channelPrefix + topic.utf8)
        payload.withUnsafeBytes { command.append(argument: BackplaneEnvelope.header(sender: node, isText: isText), $0) }
        enum Next { case drop, drain(EventLoop), nothing }
        let next: Next = outbox.withLock { outbox in
            guard let loop = outbox.loop, !outbox.isStopped else { return .drop }
            outbox.commands.append(command)
            // One loop task per batch: publishes queued meanwhile ride along.
            return outbox.commands.count == 1 ? .drain(loop) : .nothing
        }
        switch next {
        case .drop: dropped.add(1, ordering: .relaxed)
        case .drain(let loop): if !loop.execute({ [self] in sendQueuedPublishes() }) { discardQueuedPublishes() }
        case .nothing: break
        }
    }

    public func topicsChanged(_ topic: String) {
        guard let loop = outbox.withLock({ $0.isStopped ? nil : $0.loop }) else { return }
        loop.execute { [self] in reconcile(topic) }
    }

    // MARK: HistoryBackplane

    /// Numbers, keeps and publishes a history message in one script
    /// (`RedisHistoryScripts.publish`); every node, this one included,
    /// delivers it when Redis hands it over. `completion` gets its
    /// position, or nil when Redis could not be reached (counted in
    /// `droppedPublishes`).
    public func publishKept(_ topic: String, json: String, limits: KeptLimits, completion: @escaping @Sendable (StreamPosition?) -> Void) {
        let command = script(RedisHistoryScripts.publishDigest, topic, [
            Array(json.utf8), decimal(min(limits.policy.maxMessages, RedisHistoryScripts.maxMessages)), decimal(limits.policy.retention), decimal(limits.positionRetention),
            channel(topic), Array(Self.freshEpoch().utf8),
        ])
        enum Next { case drop, drain(EventLoop), nothing }
        let next: Next = outbox.withLock { outbox in
            guard let loop = outbox.loop, !outbox.isStopped else { return .drop }
            outbox.keptPublishes.append((command, completion))
            return outbox.commands.count + outbox.keptPublishes.count == 1 ? .drain(loop) : .nothing
        }
        switch next {
        case .drop:
            dropped.add(1, ordering: .relaxed)
            completion(nil)
        case .drain(let loop): if !loop.execute({ [self] in sendQueuedPublishes() }) { discardQueuedPublishes() }
        case .nothing: break
        }
    }

    /// Reads a topic's stream (`RedisHistoryScripts.read`) once this
    /// node's subscription to it is confirmed, and again after a lost
    /// connection until it is answered. nil once stopped, or when the
    /// node no longer follows the topic.
    public func readKept(_ topic: String, after offset: UInt64?, limits: KeptLimits, completion: @escaping @Sendable (KeptStream?) -> Void) {
        let read = KeptRequests.Read(topic: topic, after: offset, limits: limits, completion: completion)
        guard let loop = outbox.withLock({ $0.isStopped ? nil : $0.loop }), loop.execute({ [self] in requestRead(read) }) else {
            return completion(nil)
        }
    }

    private func requestRead(_ read: KeptRequests.Read) {
        guard !outbox.withLock({ $0.isStopped }), inbox != nil else { return read.completion(nil) }
        kept.wait(read)
        sendReads(of: read.topic)
    }

    private func sendReads(of topic: String) {
        guard let publisher, publisher.isReady else { return }
        for read in kept.takeReads(of: topic) {
            let command = script(RedisHistoryScripts.readDigest, topic, [
                read.after.map { Array(String($0).utf8) } ?? [], decimal(min(read.limits.policy.maxMessages, RedisHistoryScripts.maxMessages)),
                decimal(read.limits.policy.retention), decimal(read.limits.positionRetention), Array(Self.freshEpoch().utf8),
            ])
            if publisher.send(command, kind: .history) {
                kept.didSend(.read(read))
            } else {
                kept.wait(read)
            }
        }
    }

    /// `EVALSHA digest 2 position stream arguments…` for `topic`'s two keys.
    private func script(_ digest: [UInt8], _ topic: String, _ arguments: [[UInt8]]) -> RedisCommand {
        var command = RedisCommand(argumentCount: 5 + arguments.count, reservingCapacity: 160 + 2 * topic.utf8.count + arguments.reduce(0) { $0 + $1.count })
        command.append(argument: "EVALSHA".utf8)
        command.append(argument: digest)
        command.append(argument: "2".utf8)
        command.append(argument: channelPrefix + "history:{".utf8 + topic.utf8 + "}".utf8)
        command.append(argument: channelPrefix + "stream:{".utf8 + topic.utf8 + "}".utf8)
        for argument in arguments { command.append(argument: argument) }
        return command
    }

    private func decimal(_ value: Int) -> [UInt8] { Array(String(value).utf8) }
    private func decimal(_ duration: Duration) -> [UInt8] { Array(String(max(1, duration.milliseconds)).utf8) }

    /// A new stream's epoch: 16 hex digits, never all zero.
    static func freshEpoch() -> String {
        let hex = String(UInt64.random(in: 1...UInt64.max), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: On the loop

    private func startOnLoop(_ inbox: BackplaneInbox) {
        guard !outbox.withLock({ $0.isStopped }) else { return }
        self.inbox = inbox
        // Made here, after the app has bootstrapped its metrics backend.
        instruments = BackplaneInstruments()
        instruments?.up.record(0)
        let publisher = RedisLink(loop: inbox.loop, url: url, name: "publish", configuration: configuration)
        let subscriber = RedisLink(loop: inbox.loop, url: url, name: "subscribe", configuration: configuration)
        publisher.onReady = { [unowned self] in
            // Ahead of every script run on this connection (Redis may
            // have restarted without them).
            scriptsLoading = false
            scriptRefusalLogged = false
            scriptsMissing = false
            keptFailureLogged = false
            loadScripts()
            linkChanged()
            for topic in kept.waitingTopics { sendReads(of: topic) }
        }
        publisher.onLost = { [unowned self] in linkChanged() }
        publisher.onReply = { [unowned self] kind, size, reply in
            switch kind {
            case .history:
                // Scripts flushed from Redis's cache (SCRIPT FLUSH, a restart
                // that loaded data): loaded again ahead of what is sent next;
                // a publish fails, a read goes again (as after a lost
                // connection) unless the last load was refused.
                let noScript = Self.isNoScript(reply)
                if noScript { loadScripts() }
                let (again, publish) = kept.answered(noScript && !scriptsMissing ? nil : reply)
                if let (completion, position) = publish {
                    if position == nil { keptPublishFailed(reply) } else { confirmed.add(1, ordering: .relaxed) }
                    completion(position)
                }
                if let again { requestRead(again) }
            case .script:
                scriptsLoading = false
                scriptLoaded(reply, size: size)
            default:
                publishAnswered(size: size, reply)
            }
        }
        subscriber.onReady = { [unowned self] in
            upstream = []
            kept.subscriptionsReset()
            resubscribe()
            linkChanged()
        }
        subscriber.onLost = { [unowned self] in
            upstream = []
            kept.subscriptionsReset()
            linkChanged()
            // History messages published meanwhile never reach this node:
            // it reads its streams again once subscribed again.
            self.inbox?.keptStreamsInterrupted()
        }
        subscriber.onReply = { [unowned self] _, _, reply in subscriptionMessage(reply) }
        self.publisher = publisher
        self.subscriber = subscriber
        publisher.start()
        subscriber.start()
    }

    private func stopOnLoop(gracePeriod: UInt64, then completion: @escaping () -> Void) {
        sendQueuedPublishes()
        subscriber?.stop()
        connected.store(false, ordering: .relaxed)
        upstream = []
        wanted = []
        kept.subscriptionsReset()
        kept.dropAllReads()
        // The inbox leads back to the server, which holds this backplane:
        // let go of it so a stopped server can be freed.
        inbox = nil
        guard let publisher else { return completion() }
        publisher.stop(gracePeriod: gracePeriod, then: completion)
    }

    /// `SCRIPT LOAD`s both history scripts on the publishing connection
    /// (once while a load is on its way).
    private func loadScripts() {
        guard !scriptsLoading, let publisher else { return }
        for (index, source) in RedisHistoryScripts.all.enumerated()
        where publisher.send(RedisCommand("SCRIPT", "LOAD", source), kind: .script, size: index) {
            scriptsLoading = true
        }
    }

    /// A `SCRIPT LOAD`'s reply for script number `index`. A refusal is
    /// logged (once per connection; not after a refused login, logged
    /// already) and not final: the next NOSCRIPT loads again (Redis
    /// refuses while it loads its data, `LOADING`, or runs a long script,
    /// `BUSY`).
    private func scriptLoaded(_ reply: UnsafeMutablePointer<redisReply>?, size index: Int) {
        guard let reply else { return }
        let text = reply.pointee.str.map { String(cString: $0) } ?? ""
        // Both scripts' replies arrive in order: the second adds to the first's.
        let missing = reply.pointee.type != REDIS_REPLY_STRING || Array(text.utf8) != RedisHistoryScripts.digests[index]
        scriptsMissing = missing || (index > 0 && scriptsMissing)
        if reply.pointee.type == REDIS_REPLY_ERROR {
            guard !scriptRefusalLogged, !text.hasPrefix("NOAUTH") else { return }
            scriptRefusalLogged = true
            logger.warning("redis: SCRIPT LOAD refused; history publishes and reads fail until it works", metadata: ["url": "\(url)", "reply": "\(text)"])
        } else if scriptsMissing, !scriptRefusalLogged {
            scriptRefusalLogged = true
            logger.error("redis: SCRIPT LOAD named a history script otherwise than this node; history publishes and reads fail", metadata: ["url": "\(url)", "reply": "\(text)"])
        }
    }

    /// A history publish Redis failed (NOSCRIPT, OOM, ...) or the connection
    /// lost: counted in `droppedPublishes`, logged once per connection.
    /// Not an outage of plain publishes, whose warning this leaves alone.
    private func keptPublishFailed(_ reply: UnsafeMutablePointer<redisReply>?) {
        dropped.add(1, ordering: .relaxed)
        reportDrops()
        guard let reply, reply.pointee.type == REDIS_REPLY_ERROR, !keptFailureLogged else { return }
        keptFailureLogged = true
        logger.warning("redis: a history publish failed; such failures are counted (droppedPublishes)", metadata: [
            "url": "\(url)", "reply": "\(reply.pointee.str.map { String(cString: $0) } ?? "")",
        ])
    }

    private static func isNoScript(_ reply: UnsafeMutablePointer<redisReply>?) -> Bool {
        guard let reply, reply.pointee.type == REDIS_REPLY_ERROR, let text = reply.pointee.str else { return false }
        return strncmp(text, "NOSCRIPT", 8) == 0
    }

    private func linkChanged() {
        let isConnected = publisher?.isReady == true && subscriber?.isReady == true
        connected.store(isConnected, ordering: .relaxed)
        instruments?.up.record(isConnected ? 1 : 0)
        reportDrops()
    }

    private func sendQueuedPublishes() {
        let (commands, keptPublishes) = outbox.withLock { outbox in
            defer {
                outbox.commands.removeAll(keepingCapacity: true)
                outbox.keptPublishes.removeAll(keepingCapacity: true)
            }
            return (outbox.commands, outbox.keptPublishes)
        }
        for (command, completion) in keptPublishes {
            if let publisher, publisher.send(command, kind: .history) {
                kept.didSend(.publish(completion))
            } else {
                drop(1)
                completion(nil)
            }
        }
        guard let publisher else { return drop(commands.count) }
        for command in commands {
            let size = command.count
            if pendingPublishBytes + size <= configuration.maxPendingPublishBytes, publisher.send(command, kind: .publish, size: size) {
                pendingPublishBytes += size
            } else {
                drop(1)
            }
        }
    }

    private func discardQueuedPublishes() {
        let (count, keptPublishes) = outbox.withLock { outbox in
            defer {
                outbox.commands = []
                outbox.keptPublishes = []
            }
            return (outbox.commands.count, outbox.keptPublishes)
        }
        dropped.add(count + keptPublishes.count, ordering: .relaxed)
        for (_, completion) in keptPublishes { completion(nil) }
    }

    /// Hands the drops counted since the last report (on any thread) to
    /// the metrics.
    private func reportDrops() {
        let total = dropped.load(ordering: .relaxed)
        if total > reportedDrops { instruments?.droppedPublishes.increment(by: Int64(total - reportedDrops)) }
        reportedDrops = total
    }

    private func publishAnswered(size: Int, _ reply: UnsafeMutablePointer<redisReply>?) {
        pendingPublishBytes -= size
        if let reply, reply.pointee.type == REDIS_REPLY_INTEGER {
            confirmed.add(1, ordering: .relaxed)
            if let outageStart {
                // The first publish through after drops ends the outage.
                logger.notice("redis: publishes reach other nodes again", metadata: ["dropped": "\(droppedPublishes - outageStart)"])
                self.outageStart = nil
            }
        } else {
            drop(1)
        }
    }

    /// Counts dropped publishes, and warns once per outage.
    private func drop(_ count: Int) {
        guard count > 0 else { return }
        let before = dropped.add(count, ordering: .relaxed).oldValue
        reportDrops()
        if outageStart == nil {
            outageStart = before
            logger.warning(
                "redis: publishes are not reaching other nodes; dropping and counting them (droppedPublishes) until Redis is back",
                metadata: ["url": "\(url)"])
        }
    }

    /// "Look again": subscribe upstream exactly while there are local
    /// subscribers, whatever order the changes arrived in.
    private func reconcile(_ topic: String) {
        guard let inbox, let subscriber else { return }
        let interested = inbox.hasSubscribers(topic)
        if interested { wanted.insert(topic) } else { wanted.remove(topic) }
        if !interested { kept.dropReads(of: topic) }
        guard subscriber.isReady else { return }  // the reconnect subscribes to `wanted`
        if interested, !upstream.contains(topic) {
            if subscriber.send(RedisCommand(argumentCount: 2).with("SUBSCRIBE", channel(topic)), kind: .subscription) {
                upstream.insert(topic)
                kept.sentSubscription(topic)
            }
        } else if !interested, upstream.contains(topic) {
            if subscriber.send(RedisCommand(argumentCount: 2).with("UNSUBSCRIBE", channel(topic)), kind: .subscription) {
                upstream.remove(topic)
                kept.sentSubscription(topic)
            }
        }
    }

    /// After a (re)connect: SUBSCRIBE to every topic that still has local
    /// subscribers, a few hundred channels per command.
    private func resubscribe() {
        guard let inbox, let subscriber else { return }
        wanted = wanted.filter { inbox.hasSubscribers($0) }
        let topics = Array(wanted)
        for start in stride(from: 0, to: topics.count, by: 256) {
            let batch = topics[start..<min(start + 256, topics.count)]
            var command = RedisCommand(argumentCount: 1 + batch.count)
            command.append(argument: "SUBSCRIBE".utf8)
            for topic in batch { command.append(argument: channel(topic)) }
            if subscriber.send(command, kind: .subscription) {
                upstream.formUnion(batch)
                for topic in batch { kept.sentSubscription(topic) }
            }
        }
    }

    private func channel(_ topic: String) -> [UInt8] { channelPrefix + topic.utf8 }

    /// `["message", channel, data]` from the subscriber connection, and
    /// the confirmations `["subscribe" | "unsubscribe", channel, count]`
    /// (a history read of a topic waits for its subscribe's).
    private func subscriptionMessage(_ reply: UnsafeMutablePointer<redisReply>?) {
        switch SubscriberReply(reply, channelPrefix: channelPrefix) {
        case .confirmation(let topic, let subscribed):
            if kept.subscriptionAnswered(topic, subscribed: subscribed) { sendReads(of: topic) }
        case .kept(let topic, let envelope):
            guard let inbox else { return }
            received.add(1, ordering: .relaxed)
            inbox.deliverKept(topic, position: StreamPosition(epoch: envelope.epoch, offset: envelope.offset), json: envelope.json)
        case .message(let topic, let envelope):
            guard envelope.sender != node, let inbox else { return }  // our own, already delivered
            received.add(1, ordering: .relaxed)
            inbox.deliver(topic, payload: Array(envelope.payload), isText: envelope.isText)
        case .unknownFormat(let channel):
            logger.debug("redis: ignored a message in a format this node does not know", metadata: ["channel": "\(channel)"])
        case .ignored:
            return
        }
    }
}

/// Publishes on their way to the loop, and what the loop needs to know
/// from any thread.
private struct Outbox {
    var loop: EventLoop?
    var commands: [RedisCommand] = []
    /// History publishes (their scripts) and who waits for their positions.
    var keptPublishes: [(RedisCommand, @Sendable (StreamPosition?) -> Void)] = []
    var isStopped = false
}

extension RedisCommand {
    fileprivate func with(_ name: String, _ argument: [UInt8]) -> RedisCommand {
        var command = self
        command.append(argument: name.utf8)
        command.append(argument: argument)
        return command
    }
}

/// `switchboard_backplane_up` (1 while both Redis links are connected) and
/// `switchboard_backplane_publishes_dropped_total`.
private struct BackplaneInstruments {
    let up = Gauge(label: "switchboard_backplane_up")
    let droppedPublishes = Counter(label: "switchboard_backplane_publishes_dropped_total")
}
