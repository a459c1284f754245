import Synchronization
import SwitchboardSync

/// The streams of every topic that keeps history on this node, spread over
/// sharded locks like the hub's directory, under one memory budget.
///
/// Lock order: a stream's shard lock is taken BEFORE the hub's directory
/// lock (the closures `withStream` runs may subscribe and publish), never
/// after; and no two shard locks are ever held together.
///
/// Memory: each kept message costs its frame's bytes plus
/// ``entryOverhead``; each stream ``streamOverhead`` plus its topic. When
/// the total passes the budget, the oldest messages of the whole node go
/// first (by publish second), then the metadata of the quietest streams
/// nobody watches, until it is under 90 %.
package final class HistoryStore<Entry: Sendable>: Sendable {
    private final class Shard: Sendable {
        let streams = Locked<[String: TopicStream<Entry>]>([:])
    }

    /// Bookkeeping per kept message besides its frame (the ring slot and
    /// the frame's own object header), for the budget.
    package static var entryOverhead: Int { 64 }
    /// Bookkeeping per stream besides its topic (dictionary slot, ring header).
    package static var streamOverhead: Int { 160 }

    private let shards: [Shard]
    private let shardBits: Int
    private let budget: Int
    private let metadataRetention: UInt64
    private let makeEpoch: @Sendable () -> UInt64
    private let usedBytes = Atomic<Int>(0)
    private let streamCounter = Atomic<Int>(0)
    private let evicting = Atomic<Bool>(false)
    /// Sweeps walk one shard per call, in turn.
    private let sweepCursor = Atomic<Int>(0)
    private let newStreamsAreLive = Atomic<Bool>(true)

    /// Whether a stream created by `withStream` is live (a node's own
    /// history) or waits to be read (a mirror of a backplane's).
    package var streamsStartLive: Bool {
        get { newStreamsAreLive.load(ordering: .relaxed) }
        set { newStreamsAreLive.store(newValue, ordering: .relaxed) }
    }

    /// - Parameters:
    ///   - budget: bytes all streams may hold together.
    ///   - metadataRetention: how long a stream without messages and
    ///     without subscribers keeps its position after its last publish.
    ///   - makeEpoch: a new stream's epoch (random in production).
    package init(
        budget: Int, metadataRetentionMilliseconds: UInt64, shardCount: Int = 64,
        makeEpoch: @escaping @Sendable () -> UInt64 = { UInt64.random(in: 1...UInt64.max) }
    ) {
        precondition(shardCount > 0 && shardCount & (shardCount - 1) == 0, "shardCount must be a power of two")
        shards = (0..<shardCount).map { _ in Shard() }
        shardBits = shardCount.trailingZeroBitCount
        self.budget = budget
        metadataRetention = metadataRetentionMilliseconds
        self.makeEpoch = makeEpoch
    }

    private func shard(of topic: String) -> Shard {
        let hash = UInt(bitPattern: topic.hashValue)
        return shards[Int(truncatingIfNeeded: hash >> (UInt.bitWidth - shardBits))]
    }

    /// Bytes held now (messages and metadata, as the budget counts them).
    package var bytesUsed: Int { usedBytes.load(ordering: .relaxed) }
    /// Streams held now.
    package var streamCount: Int { streamCounter.load(ordering: .relaxed) }

    /// Runs `body` with `topic`'s stream (created if it has none), holding
    /// its shard lock: everything `body` does is ordered with every other
    /// publish and subscribe on the topic. Expired messages are dropped first.
    package func withStream<Result>(
        _ topic: String, limits: StreamLimits, now: UInt64, _ body: (inout TopicStream<Entry>) -> Result
    ) -> Result {
        let (result, delta) = shard(of: topic).streams.withLock { streams in
            var delta = 0
            let index: Dictionary<String, TopicStream<Entry>>.Index
            if let found = streams.index(forKey: topic) {
                index = found
                delta -= streams.values[index].expire(now: now, limits: limits)
            } else {
                // A mirror waiting for its first read has no epoch yet (0).
                let live = newStreamsAreLive.load(ordering: .relaxed)
                var created = TopicStream<Entry>(epoch: live ? makeEpoch() : 0, now: now)
                created.isLive = live
                streams[topic] = created
                index = streams.index(forKey: topic)!
                delta += Self.streamOverhead + topic.utf8.count
                streamCounter.add(1, ordering: .relaxed)
            }
            let before = streams.values[index].bytes
            let result = body(&streams.values[index])
            delta += streams.values[index].bytes - before
            return (result, delta)
        }
        account(delta, now: now)
        return result
    }

    /// Appends to `topic`'s stream under its lock: `make` builds the entry
    /// for its position (the frame carries its offset), `then` runs right
    /// after, still under the lock (the hub's publish, so subscribers see
    /// offsets in order).
    package func append<Result>(
        to topic: String, limits: StreamLimits, now: UInt64,
        make: (StreamPoint) -> (entry: Entry, bytes: Int),
        then: (Entry, StreamPoint) -> Result
    ) -> Result {
        withStream(topic, limits: limits, now: now) { stream in
            let next = StreamPoint(epoch: stream.epoch, offset: stream.top + 1)
            let (entry, size) = make(next)
            _ = stream.append(entry, bytes: size + Self.entryOverhead, now: now, limits: limits)
            return then(entry, next)
        }
    }

    /// Calls `body` with every stream, one shard lock at a time (the same
    /// rules as `withStream`'s body); returns the topics it returned true for.
    package func forEachStream(now: UInt64, _ body: (String, inout TopicStream<Entry>) -> Bool) -> [String] {
        var chosen: [String] = []
        for shard in shards {
            let delta = shard.streams.withLock { streams in
                var delta = 0
                for index in streams.indices {
                    let before = streams.values[index].bytes
                    if body(streams.keys[index], &streams.values[index]) { chosen.append(streams.keys[index]) }
                    delta += streams.values[index].bytes - before
                }
                return delta
            }
            account(delta, now: now)
        }
        return chosen
    }

    /// `topic`'s stream as it is, without creating one; nil if none.
    package func peek<Result>(_ topic: String, _ body: (TopicStream<Entry>) -> Result) -> Result? {
        shard(of: topic).streams.withLock { streams in streams[topic].map(body) }
    }

    private func account(_ delta: Int, now: UInt64) {
        guard delta != 0 else { return }
        let used = usedBytes.add(delta, ordering: .relaxed).newValue
        if delta > 0, used > budget { evict(now: now, dropsPositions: false, hasSubscribers: { _ in true }) }
    }

    /// Expires one shard's messages and drops its streams that have been
    /// empty, quiet and unwatched for the metadata retention. Call it
    /// periodically (each call takes the next shard).
    package func sweep(now: UInt64, limits: (String) -> StreamLimits?, hasSubscribers: (String) -> Bool) {
        let shard = shards[sweepCursor.wrappingAdd(1, ordering: .relaxed).oldValue & (shards.count - 1)]
        let freed = shard.streams.withLock { streams in
            var freed = 0
            for topic in Array(streams.keys) {
                guard let index = streams.index(forKey: topic) else { continue }
                if let limits = limits(topic) {
                    freed += streams.values[index].expire(now: now, limits: limits)
                }
                let stream = streams.values[index]
                if stream.count == 0, stream.lastActivity + metadataRetention <= now, !hasSubscribers(topic) {
                    streams.remove(at: index)
                    freed += Self.streamOverhead + topic.utf8.count
                    streamCounter.subtract(1, ordering: .relaxed)
                }
            }
            return freed
        }
        if freed > 0 { usedBytes.subtract(freed, ordering: .relaxed) }
        if usedBytes.load(ordering: .relaxed) > budget { evict(now: now, dropsPositions: true, hasSubscribers: hasSubscribers) }
    }

    /// Brings the store under 90 % of its budget: drops messages by
    /// publish second, oldest first over every stream, then (when
    /// `dropsPositions`, from the sweep) the metadata of empty
    /// streams nobody watches, least recently active first. One caller at
    /// a time; others go on.
    private func evict(now: UInt64, dropsPositions: Bool, hasSubscribers: (String) -> Bool) {
        guard evicting.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        defer { evicting.store(false, ordering: .releasing) }
        let target = budget / 10 * 9
        // Bytes of kept messages per publish second, over all streams.
        var bySecond: [UInt64: Int] = [:]
        for shard in shards {
            shard.streams.withLock { streams in
                for stream in streams.values { stream.forEachKept { time, bytes in bySecond[time / 1000, default: 0] += bytes } }
            }
        }
        var excess = usedBytes.load(ordering: .relaxed) - target
        var cutoff: UInt64 = 0
        for second in bySecond.keys.sorted() where excess > 0 {
            excess -= bySecond[second]!
            cutoff = (second + 1) * 1000
        }
        if cutoff > 0 {
            for shard in shards {
                let freed = shard.streams.withLock { streams in
                    var freed = 0
                    for index in streams.indices { freed += streams.values[index].drop(publishedBefore: cutoff) }
                    return freed
                }
                usedBytes.subtract(freed, ordering: .relaxed)
            }
        }
        guard dropsPositions, usedBytes.load(ordering: .relaxed) > target else { return }
        // Only metadata left over the budget: millions of quiet topics.
        var quiet: [(lastActivity: UInt64, topic: String)] = []
        for shard in shards {
            shard.streams.withLock { streams in
                for (topic, stream) in streams where stream.count == 0 { quiet.append((stream.lastActivity, topic)) }
            }
        }
        quiet.sort { $0.lastActivity < $1.lastActivity }
        for (_, topic) in quiet where usedBytes.load(ordering: .relaxed) > target {
            shard(of: topic).streams.withLock { streams in
                guard let index = streams.index(forKey: topic), streams.values[index].count == 0, !hasSubscribers(topic) else { return }
                streams.remove(at: index)
                usedBytes.subtract(Self.streamOverhead + topic.utf8.count, ordering: .relaxed)
                streamCounter.subtract(1, ordering: .relaxed)
            }
        }
    }
}
