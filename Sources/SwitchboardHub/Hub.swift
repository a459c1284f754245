import Synchronization
import SwitchboardSync

/// In-process publish/subscribe over event loops, independent of sockets.
///
/// Subscribers (connections) live on event loops `0..<loopCount`, one thread
/// each, and everything about a subscriber happens on its loop. The hub keeps:
///
/// - a global ``TopicDirectory`` (sharded locks): per topic, how many
///   subscribers each loop has;
/// - per loop, a lock-free table confined to that loop: the subscribers of each
///   topic, in subscription order, and the topics of each subscriber.
///
/// ``publish(_:to:)`` takes the topic's shard lock once and, still holding it,
/// schedules ONE task per loop that has subscribers; on its loop, that task
/// hands the same `Message` (for example an encoded frame shared by everyone)
/// to each local subscriber through `deliver`. Holding the lock while
/// scheduling means two publishes to the same topic reach every loop queue in
/// the same order, so every subscriber of a topic sees the same sequence; as
/// long as `schedule` runs a loop's tasks in FIFO order.
///
/// Threading contract:
/// - `subscribe`, `unsubscribe`, `unsubscribeAll` and `topics(of:onLoop:)` must
///   be called on the subscriber's loop thread (`onLoop`). They are not
///   checked: calling them elsewhere is a data race.
/// - `publish`, `subscriberCount(of:)`, `topicCount` and the hooks are safe
///   from any thread.
/// - `schedule(loop, task)` must run `task` later on `loop`'s thread, in FIFO
///   order per loop. It is called while a shard lock is held, so it must be
///   quick (enqueue and wake the loop) and must not call back into the hub.
/// - `deliver(subscriber, message)` runs on the subscriber's loop. It may
///   subscribe or unsubscribe (for example close the connection), and publish.
/// - A subscriber is held strongly until it leaves its last topic: call
///   ``unsubscribeAll(_:onLoop:)`` when a connection closes.
package final class Hub<Subscriber: AnyObject & Sendable, Message: Sendable>: Sendable {
    /// Backplane hooks, read once per topic transition (not on publish).
    private struct Hooks {
        var onTopicCreated: (@Sendable (String) -> Void)?
        var onTopicRemoved: (@Sendable (String) -> Void)?
    }

    /// Number of event loops; valid loops are `0..<loopCount`.
    package let loopCount: Int
    private let directory: TopicDirectory
    private let loops: [LoopSubscriptions<Subscriber>]
    private let schedule: @Sendable (_ loop: Int, _ task: @escaping @Sendable () -> Void) -> Void
    private let deliver: @Sendable (Subscriber, Message) -> Void
    private let hooks = Locked(Hooks())

    /// Creates a hub.
    /// - Parameters:
    ///   - loopCount: number of event loops (at least 1).
    ///   - shardCount: number of directory locks, a power of two. The default
    ///     of 64 keeps contention low for dozens of publishing threads while
    ///     costing only 64 small dictionaries.
    ///   - schedule: runs a task on a loop's thread, FIFO per loop; called with
    ///     a shard lock held (see the type's threading contract).
    ///   - deliver: hands a message to one subscriber, on its loop.
    package init(
        loopCount: Int,
        shardCount: Int = 64,
        schedule: @escaping @Sendable (_ loop: Int, _ task: @escaping @Sendable () -> Void) -> Void,
        deliver: @escaping @Sendable (Subscriber, Message) -> Void
    ) {
        self.loopCount = loopCount
        self.directory = TopicDirectory(loopCount: loopCount, shardCount: shardCount)
        self.loops = (0..<loopCount).map { _ in LoopSubscriptions<Subscriber>() }
        self.schedule = schedule
        self.deliver = deliver
    }

    /// Called with a topic that just got its first subscriber anywhere (a
    /// backplane SUBSCRIBEs to it). Set it before the first subscribe.
    ///
    /// Called outside any lock, on the loop thread whose `subscribe` caused the
    /// transition. Transitions of one topic caused by different loops can
    /// reach the hooks out of order (removed on loop 1 racing created on loop
    /// 2), so a backplane should treat a hook as "reconsider this topic" and
    /// settle it on one serial queue against ``subscriberCount(of:)``.
    package var onTopicCreated: (@Sendable (String) -> Void)? {
        get { hooks.withLock { $0.onTopicCreated } }
        set { hooks.withLock { $0.onTopicCreated = newValue } }
    }

    /// Called with a topic that just lost its last subscriber anywhere (a
    /// backplane UNSUBSCRIBEs from it). Same rules as ``onTopicCreated``.
    package var onTopicRemoved: (@Sendable (String) -> Void)? {
        get { hooks.withLock { $0.onTopicRemoved } }
        set { hooks.withLock { $0.onTopicRemoved = newValue } }
    }

    private func table(_ loop: Int) -> LoopSubscriptions<Subscriber> {
        precondition(loop >= 0 && loop < loopCount, "Hub: loop \(loop) out of range 0..<\(loopCount)")
        return loops[loop]
    }

    /// Subscribes `subscriber` to `topic`. Call on `loop`'s thread.
    ///
    /// Takes effect for publishes that read the directory after it returns;
    /// a concurrent publish may or may not reach it.
    /// - Returns: false if it was already subscribed (nothing changes).
    @discardableResult
    package func subscribe(_ subscriber: Subscriber, onLoop loop: Int, to topic: String) -> Bool {
        guard table(loop).add(subscriber, to: topic) else { return false }
        if directory.increment(topic, loop: loop) {
            hooks.withLock { $0.onTopicCreated }?(topic)
        }
        return true
    }

    /// Unsubscribes `subscriber` from `topic`. Call on `loop`'s thread.
    ///
    /// Effective at once on its loop: no delivery runs for it afterwards, even
    /// of messages published earlier and not yet delivered.
    /// - Returns: false if it was not subscribed.
    @discardableResult
    package func unsubscribe(_ subscriber: Subscriber, onLoop loop: Int, from topic: String) -> Bool {
        guard table(loop).remove(subscriber, from: topic) else { return false }
        if directory.decrement(topic, loop: loop) {
            hooks.withLock { $0.onTopicRemoved }?(topic)
        }
        return true
    }

    /// Unsubscribes `subscriber` from all its topics (a connection closing).
    /// Call on `loop`'s thread.
    /// - Returns: the topics it left, in no particular order.
    @discardableResult
    package func unsubscribeAll(_ subscriber: Subscriber, onLoop loop: Int) -> [String] {
        let topics = table(loop).removeAll(subscriber)
        guard !topics.isEmpty else { return [] }
        var removed: [String] = []
        for topic in topics where directory.decrement(topic, loop: loop) {
            removed.append(topic)
        }
        if !removed.isEmpty, let onTopicRemoved = hooks.withLock({ $0.onTopicRemoved }) {
            for topic in removed { onTopicRemoved(topic) }
        }
        return Array(topics)
    }

    /// Publishes `message` to the subscribers of `topic`. Any thread.
    ///
    /// Never waits for delivery: it schedules one task per loop that has
    /// subscribers, and each task delivers on its loop in subscription order.
    /// Every subscriber of a topic receives that topic's messages in the same
    /// order, and a publisher's messages in the order it published them.
    ///
    /// - Returns: the number of subscribers at publish time. It is an estimate
    ///   of how many will receive it: one subscribing or unsubscribing
    ///   concurrently may or may not get the message, and delivery itself
    ///   (write queues, slow-consumer policy) is the integrator's.
    @discardableResult
    package func publish(_ message: Message, to topic: String) -> Int {
        directory.withLoops(of: topic) { loop in
            let local = loops[loop]
            let deliver = self.deliver
            schedule(loop) {
                local.forEachSubscriber(of: topic) { deliver($0, message) }
            }
        }
    }

    /// Subscribers of `topic` across all loops. Any thread.
    package func subscriberCount(of topic: String) -> Int {
        directory.subscriberCount(of: topic)
    }

    /// Topics with at least one subscriber. Any thread.
    package var topicCount: Int { directory.topicCount }

    /// Whether `subscriber` is subscribed to `topic`. Call on `loop`'s thread.
    package func isSubscribed(_ subscriber: Subscriber, onLoop loop: Int, to topic: String) -> Bool {
        table(loop).topics(of: subscriber).contains(topic)
    }

    /// Topics of `subscriber`, sorted. Call on `loop`'s thread.
    package func topics(of subscriber: Subscriber, onLoop loop: Int) -> [String] {
        table(loop).topics(of: subscriber).sorted()
    }

    /// The `limit` topics with the most subscribers on `loop`, most first.
    /// Call on `loop`'s thread; it walks the loop's topics (a dashboard's
    /// once a second, never a message's path).
    package func busiestTopics(onLoop loop: Int, limit: Int) -> [(topic: String, subscribers: Int)] {
        table(loop).busiestTopics(limit: limit)
    }

    // MARK: - Introspection for tests

    /// Entries in `loop`'s local tables (topics plus subscribers); 0 when that
    /// loop has no subscriptions. Call on `loop`'s thread.
    package func localEntryCount(loop: Int) -> Int { table(loop).entryCount }

    /// Subscribers of `topic` on `loop` according to the loop's own table.
    /// Call on `loop`'s thread.
    package func localSubscriberCount(of topic: String, loop: Int) -> Int {
        table(loop).subscriberCount(of: topic)
    }
}
