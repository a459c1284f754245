import Synchronization
import SwitchboardSync

/// The global, thread-safe directory of topics: for each topic, how many
/// subscribers it has on each loop.
///
/// Topics are spread over a fixed number of shards (a power of two), each a
/// lock (`Locked`, see why there) around a dictionary, so publishers and subscribers of unrelated
/// topics rarely contend. A topic has an entry only while it has at least one
/// subscriber: the entry is removed with its last subscriber, so millions of
/// short-lived topics leave nothing behind.
final class TopicDirectory: Sendable {
    /// Subscriber counts of one topic.
    struct Counts {
        /// Sum of `perLoop`; always > 0 for a stored entry.
        var total: Int
        /// Subscribers of the topic on each loop, indexed by loop.
        var perLoop: [Int32]
    }

    /// One lock and the topics that hash to it.
    private final class Shard: Sendable {
        let topics = Locked<[String: Counts]>([:])
    }

    let loopCount: Int
    private let shards: [Shard]
    /// Number of high hash bits that select a shard (0 when there is one shard).
    private let shardBits: Int
    /// Topics across all shards; updated under the shard lock that creates or
    /// removes an entry, read without any lock.
    private let topicCounter = Atomic<Int>(0)

    init(loopCount: Int, shardCount: Int) {
        precondition(loopCount > 0, "loopCount must be positive")
        precondition(
            shardCount > 0 && shardCount & (shardCount - 1) == 0,
            "shardCount must be a power of two")
        self.loopCount = loopCount
        self.shards = (0..<shardCount).map { _ in Shard() }
        self.shardBits = shardCount.trailingZeroBitCount
    }

    /// The shard of `topic`, chosen from the HIGH bits of its hash so that the
    /// dictionaries inside a shard still see well-spread low bits.
    private func shard(of topic: String) -> Shard {
        let hash = UInt(bitPattern: topic.hashValue)
        // `>>` with a shift of `bitWidth` (one shard) yields 0.
        return shards[Int(truncatingIfNeeded: hash >> (UInt.bitWidth - shardBits))]
    }

    /// Counts one more subscriber of `topic` on `loop`.
    /// - Returns: `true` if this created the topic (its first subscriber anywhere).
    func increment(_ topic: String, loop: Int) -> Bool {
        let loopCount = self.loopCount
        return shard(of: topic).topics.withLock { topics in
            if let index = topics.index(forKey: topic) {
                topics.values[index].total += 1
                topics.values[index].perLoop[loop] += 1
                return false
            }
            var perLoop = [Int32](repeating: 0, count: loopCount)
            perLoop[loop] = 1
            topics[topic] = Counts(total: 1, perLoop: perLoop)
            topicCounter.add(1, ordering: .relaxed)
            return true
        }
    }

    /// Counts one subscriber of `topic` on `loop` fewer.
    /// - Returns: `true` if this removed the topic (its last subscriber anywhere).
    func decrement(_ topic: String, loop: Int) -> Bool {
        shard(of: topic).topics.withLock { topics in
            guard let index = topics.index(forKey: topic) else {
                preconditionFailure("TopicDirectory: unsubscribing from unknown topic \(topic)")
            }
            precondition(topics.values[index].perLoop[loop] > 0, "TopicDirectory: count underflow")
            if topics.values[index].total == 1 {
                topics.remove(at: index)
                topicCounter.subtract(1, ordering: .relaxed)
                return true
            }
            topics.values[index].total -= 1
            topics.values[index].perLoop[loop] -= 1
            return false
        }
    }

    /// Calls `body` with each loop that has subscribers of `topic`, in loop
    /// order, WHILE HOLDING the topic's shard lock, so that two callers for
    /// the same topic run their bodies one after the other, never interleaved.
    /// `body` must be short and must not call back into this directory.
    /// - Returns: the topic's total subscriber count (0 if it has none, and
    ///   then `body` is not called).
    @inline(__always)
    func withLoops(of topic: String, _ body: (Int) -> Void) -> Int {
        shard(of: topic).topics.withLock { topics in
            guard let index = topics.index(forKey: topic) else { return 0 }
            let counts = topics.values[index]
            for loop in counts.perLoop.indices where counts.perLoop[loop] > 0 {
                body(loop)
            }
            return counts.total
        }
    }

    /// Total subscribers of `topic` across all loops.
    func subscriberCount(of topic: String) -> Int {
        shard(of: topic).topics.withLock { $0[topic]?.total ?? 0 }
    }

    /// Topics with at least one subscriber.
    var topicCount: Int { topicCounter.load(ordering: .relaxed) }
}
