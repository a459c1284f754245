/// The subscribers of one topic on one loop, in subscription order.
///
/// Removal leaves a `nil` slot (a tombstone) so that the order of the others
/// is kept and removal is O(1); tombstones are squeezed out once they
/// outnumber the live subscribers, but never while a delivery walks `slots`.
///
/// Confined to its loop, like the `LoopSubscriptions` that owns it, which is
/// why the fields skip the runtime's exclusivity checks: a delivery reads
/// `slots` once per subscriber, around calls it cannot see into.
///
/// The slots hold `AnyObject`, not `Subscriber`: the hub is generic and not
/// specialized for its integrator's types, so a `[Subscriber?]` would be
/// read through generic value witnesses on every delivery. Every stored
/// object is a `Subscriber` (only `append` stores), so the cast back is free.
final class TopicSubscribers<Subscriber: AnyObject> {
    /// Subscribers in subscription order; `nil` marks one that left.
    @exclusivity(unchecked) private var slots: ContiguousArray<AnyObject?> = []
    /// Position of each live subscriber in `slots`.
    @exclusivity(unchecked) private var positions: [ObjectIdentifier: Int] = [:]
    /// Deliveries in progress over `slots` (more than one if a delivery
    /// callback publishes to the same topic and the loop runs it inline).
    @exclusivity(unchecked) private var deliveryDepth = 0

    /// Tombstones tolerated before compaction is considered, so small topics
    /// with churn do not rebuild on every removal.
    private static var compactionSlack: Int { 16 }

    var liveCount: Int { positions.count }

    func append(_ subscriber: Subscriber) {
        positions[ObjectIdentifier(subscriber)] = slots.count
        slots.append(subscriber)
    }

    func remove(_ id: ObjectIdentifier) {
        guard let position = positions.removeValue(forKey: id) else {
            preconditionFailure("TopicSubscribers: removing a subscriber that is not here")
        }
        slots[position] = nil
        compactIfNeeded()
    }

    /// Calls `deliver` for each subscriber, in subscription order.
    ///
    /// Reads the live table, so `deliver` may subscribe or unsubscribe (for
    /// example a connection closing itself): one that leaves before its turn is
    /// skipped; one that joins during the walk is not reached by this message.
    @inline(__always)
    func forEach(_ deliver: (Subscriber) -> Void) {
        deliveryDepth += 1
        let end = slots.count
        var index = 0
        while index < end {
            // Retained for the call: `deliver` may unsubscribe it, which
            // releases the slot's reference.
            if let subscriber = slots[index] { deliver(unsafeDowncast(subscriber, to: Subscriber.self)) }
            index += 1
        }
        deliveryDepth -= 1
        compactIfNeeded()
    }

    private func compactIfNeeded() {
        let tombstones = slots.count - positions.count
        guard deliveryDepth == 0, tombstones > Self.compactionSlack, tombstones > positions.count else {
            return
        }
        var compacted = ContiguousArray<AnyObject?>()
        compacted.reserveCapacity(positions.count)
        for case let subscriber? in slots {
            positions[ObjectIdentifier(subscriber)] = compacted.count
            compacted.append(subscriber)
        }
        slots = compacted
    }
}

/// The subscription table of ONE loop.
///
/// Confinement rule: every member is used only on that loop's thread (by
/// `Hub.subscribe`/`unsubscribe`/`unsubscribeAll`/`topics(of:)`, which the
/// integrator calls there, and by delivery tasks, which the integrator's
/// `schedule` runs there). That is what makes `@unchecked Sendable` sound;
/// there is no lock. Subscribers are held strongly until they unsubscribe,
/// which also keeps each `ObjectIdentifier` unique while it is a key.
final class LoopSubscriptions<Subscriber: AnyObject>: @unchecked Sendable {
    /// Local subscribers of each topic that has any on this loop.
    @exclusivity(unchecked) private var subscribers: [String: TopicSubscribers<Subscriber>] = [:]
    /// Topics of each local subscriber that has any.
    @exclusivity(unchecked) private var topicsBySubscriber: [ObjectIdentifier: Set<String>] = [:]

    /// Adds `subscriber` to `topic`. Returns false if it was already there.
    func add(_ subscriber: Subscriber, to topic: String) -> Bool {
        let id = ObjectIdentifier(subscriber)
        guard topicsBySubscriber[id, default: []].insert(topic).inserted else { return false }
        if let existing = subscribers[topic] {
            existing.append(subscriber)
        } else {
            let created = TopicSubscribers<Subscriber>()
            created.append(subscriber)
            subscribers[topic] = created
        }
        return true
    }

    /// Removes `subscriber` from `topic`. Returns false if it was not there.
    func remove(_ subscriber: Subscriber, from topic: String) -> Bool {
        let id = ObjectIdentifier(subscriber)
        guard let index = topicsBySubscriber.index(forKey: id),
            topicsBySubscriber.values[index].remove(topic) != nil
        else { return false }
        if topicsBySubscriber.values[index].isEmpty { topicsBySubscriber.remove(at: index) }
        removeFromTopic(id, topic)
        return true
    }

    /// Removes `subscriber` from all its topics and returns them.
    func removeAll(_ subscriber: Subscriber) -> Set<String> {
        let id = ObjectIdentifier(subscriber)
        guard let topics = topicsBySubscriber.removeValue(forKey: id) else { return [] }
        for topic in topics { removeFromTopic(id, topic) }
        return topics
    }

    private func removeFromTopic(_ id: ObjectIdentifier, _ topic: String) {
        guard let list = subscribers[topic] else {
            preconditionFailure("LoopSubscriptions: tables out of step for topic \(topic)")
        }
        list.remove(id)
        // A delivery in progress keeps its own reference to `list`.
        if list.liveCount == 0 { subscribers[topic] = nil }
    }

    /// Topics of `subscriber` on this loop, in no particular order.
    func topics(of subscriber: Subscriber) -> Set<String> {
        topicsBySubscriber[ObjectIdentifier(subscriber)] ?? []
    }

    /// Delivers to the local subscribers of `topic`, in subscription order.
    @inline(__always)
    func forEachSubscriber(of topic: String, _ body: (Subscriber) -> Void) {
        subscribers[topic]?.forEach(body)
    }

    /// Topics with local subscribers plus subscribers with topics: 0 when empty.
    var entryCount: Int { subscribers.count + topicsBySubscriber.count }

    /// Local subscribers of `topic`.
    func subscriberCount(of topic: String) -> Int { subscribers[topic]?.liveCount ?? 0 }

    func busiestTopics(limit: Int) -> [(topic: String, subscribers: Int)] {
        var top: [(topic: String, subscribers: Int)] = []
        for (topic, members) in subscribers {
            let count = members.liveCount
            guard top.count < limit || count > top[top.count - 1].subscribers else { continue }
            top.append((topic, count))
            top.sort { $0.subscribers > $1.subscribers }
            if top.count > limit { top.removeLast() }
        }
        return top
    }
}
