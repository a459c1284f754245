import SwitchboardHub

/// The node's side of a history backplane: mirrors of the streams of the
/// topics it has subscribers of, kept current from `deliverKept`, read
/// again whenever they may have missed something.
extension PubSub {
    var mirror: HistoryMirror? { mirrorSlot.mirror }

    /// A message the backplane numbered, in its order (backplane's loop).
    func deliverKept(_ topic: String, position: StreamPosition, json: String) {
        guard let history, let mirror, let limits = history.limits(for: topic) else {
            // This node keeps no history for the topic: delivered as is.
            publish(topic, text: ClientFrame.message(topic: topic, json: json))
            return
        }
        let point = StreamPoint(position)
        let needsRead: (after: UInt64?, read: UInt64?)? = history.store.withStream(topic, limits: limits, now: HistoryKeeper.now()) { stream in
            if !stream.isLive {
                // Being read (kept for after the read), or not followed.
                return hub.subscriberCount(of: topic) > 0 ? (nil, mirror.buffer(topic, point: point, json: json)) : nil
            }
            if stream.awaitsFirstArrival, point.epoch == stream.epoch {
                // The first message since the first read: the subscribers
                // that were live get it and every one after it.
                stream.awaitsFirstArrival = false
                if point.offset <= stream.top { stream.deliveredThrough = max(point.offset, 1) - 1 }
            }
            if point.epoch == stream.epoch, point.offset <= stream.top {
                // Read before it arrived. It came after this node subscribed
                // upstream, so the live subscribers get it unless a read
                // handed it to them already.
                if point.offset > stream.deliveredThrough { deliverHeld(&stream, topic, through: point.offset, arrived: [(point, json)]) }
                return nil
            }
            guard point.epoch == stream.epoch, point.offset == stream.top + 1 else {
                // A gap, or a stream that started again: read it.
                stream.isLive = false
                let after = point.epoch == stream.epoch ? stream.top : nil
                return (after, mirror.buffer(topic, point: point, json: json))
            }
            appendKept(&stream, topic, point, json, limits)
            return nil
        }
        if let needsRead, let read = needsRead.read { readMirror(topic, after: needsRead.after, read: read) }
    }

    /// Keeps a message the mirror did not have and delivers it; under the
    /// stream's lock, `point` being the stream's next offset.
    private func appendKept(_ stream: inout TopicStream<PublishedFrame>, _ topic: String, _ point: StreamPoint, _ json: String, _ limits: StreamLimits) {
        let (frame, bytes) = keptMessage(topic, point, json)
        _ = stream.append(frame, bytes: bytes + HistoryStore<PublishedFrame>.entryOverhead, now: HistoryKeeper.now(), limits: limits)
        stream.deliveredThrough = point.offset
        hub.publish(frame, to: topic)
    }

    /// Delivers what the mirror holds after `deliveredThrough` through
    /// `offset`: a read brought it before (or instead of) the backplane
    /// handing it over. Under the stream's lock; `offset` <= its top.
    /// `arrived` are messages the backplane handed over meanwhile, oldest
    /// first: those the mirror no longer holds (its bytes limit pushed the
    /// oldest out) are sent from their JSON.
    private func deliverHeld(
        _ stream: inout TopicStream<PublishedFrame>, _ topic: String, through offset: UInt64, arrived: [(point: StreamPoint, json: String)] = []
    ) {
        guard offset > stream.deliveredThrough else { return }
        if let held = stream.after(stream.deliveredThrough, limit: Int(offset - stream.deliveredThrough)) {
            for (_, frame) in held { hub.publish(frame, to: topic) }
        } else {
            let held = stream.latest(Int(stream.top - stream.deliveredThrough)).filter { $0.offset <= offset }
            let firstHeld = held.first?.offset ?? offset + 1
            for (point, json) in arrived where point.epoch == stream.epoch && point.offset > stream.deliveredThrough && point.offset < firstHeld {
                hub.publish(keptMessage(topic, point, json).entry, to: topic)
            }
            for (_, frame) in held { hub.publish(frame, to: topic) }
        }
        stream.deliveredThrough = offset
    }

    /// Asks the backplane for `topic`'s stream (after `after`, or all it
    /// keeps) in read number `read`; never with a lock held.
    func readMirror(_ topic: String, after: UInt64?, read number: UInt64) {
        guard let history, let mirror, let limits = history.keptLimits(for: topic) else { return }
        mirror.backplane.readKept(topic, after: after, limits: limits) { [weak self] read in
            self?.applyRead(topic, number, read)
        }
    }

    /// Brings the mirror of `topic` up to the read: catches its live
    /// subscribers up (the same epoch, nothing missing) or tells them
    /// `reset`; applies what arrived meanwhile; answers the subscribers
    /// that waited.
    private func applyRead(_ topic: String, _ number: UInt64, _ read: KeptStream?) {
        guard let history, let mirror, let limits = history.limits(for: topic) else { return }
        var readAgain: (after: UInt64, read: UInt64)?
        history.store.withStream(topic, limits: limits, now: HistoryKeeper.now()) { stream in
            // Made before the node stopped following the topic: it no longer counts.
            guard let waited = mirror.finishReading(topic, read: number) else { return }
            guard let read else { return Self.answer(waited.subscribers, topic) { _ in .unavailable } }
            let point = StreamPoint(read.position)
            let missing = read.messages.filter { $0.offset > stream.top }
            if point.epoch == stream.epoch, missing.first.map({ $0.offset == stream.top + 1 }) ?? (point.offset == stream.top) {
                // Caught up: what the live subscribers missed, in order:
                // first what an earlier read brought and the backplane
                // will not hand over now (the link dropped, or it skipped them).
                deliverHeld(&stream, topic, through: stream.top)
                stream.awaitsFirstArrival = false
                for message in missing { appendKept(&stream, topic, StreamPoint(epoch: point.epoch, offset: message.offset), message.json, limits) }
            } else {
                // First read (epoch 0), or a stream that cannot be continued.
                let wasFollowed = stream.epoch != 0
                let now = HistoryKeeper.now()
                stream = TopicStream(epoch: point.epoch, top: (read.messages.first?.offset ?? point.offset + 1) - 1, now: now)
                for message in read.messages {
                    let (frame, bytes) = keptMessage(topic, StreamPoint(epoch: point.epoch, offset: message.offset), message.json)
                    _ = stream.append(frame, bytes: bytes + HistoryStore<PublishedFrame>.entryOverhead, now: now, limits: limits)
                }
                if wasFollowed {
                    stream.deliveredThrough = stream.top
                    publishReset(topic, stream.position)
                } else {
                    // The subscribers live already (a handler's own
                    // subscription; those waiting for an answer skip it
                    // all) get every message from the first that arrives:
                    // each came after this node subscribed upstream, the
                    // ones its link lost on the way included. Arrived
                    // before the read, they go out now; otherwise the first
                    // to arrive sets where they begin.
                    let top = stream.top
                    let arrived = waited.buffered.lazy.filter { $0.point.epoch == point.epoch && $0.point.offset <= top }.map(\.point.offset)
                    if let first = arrived.min(), let last = arrived.max() {
                        stream.deliveredThrough = max(first, 1) - 1
                        deliverHeld(&stream, topic, through: last, arrived: waited.buffered)
                    } else {
                        stream.deliveredThrough = stream.top
                        stream.awaitsFirstArrival = true
                    }
                }
            }
            // Read once more (the subscribers wait for it): the read may
            // have missed what came after it.
            func readOnceMore() {
                stream.isLive = false
                // A lost link ends the wait for a first arrival: what it lost stays before the subscribers' time.
                stream.awaitsFirstArrival = false
                readAgain = mirror.needsRead(topic).map { (stream.top, $0) }
                for subscriber in waited.subscribers { _ = mirror.wait(topic, subscriber: subscriber) }
            }
            for (buffered, json) in waited.buffered where buffered.epoch == stream.epoch && buffered.offset > stream.top {
                guard buffered.offset == stream.top + 1 else { return readOnceMore() }  // still a gap
                appendKept(&stream, topic, buffered, json, limits)
            }
            if waited.stale { return readOnceMore() }  // the backplane was interrupted meanwhile
            stream.isLive = true
            let current = stream
            Self.answer(waited.subscribers, topic) { subscriber in
                Self.outcome(since: subscriber.since, maxReplayBytes: subscriber.maxReplayBytes, in: current)
            }
        }
        if let readAgain { readMirror(topic, after: readAgain.after, read: readAgain.read) }
    }

    /// Answers subscribers that waited, each on its connection's loop, in
    /// a task queued now: behind the deliveries already queued (which skip
    /// it: it is marked pending), ahead of any queued after the lock is let go.
    private static func answer(_ subscribers: [PendingSubscriber], _ topic: String, _ outcome: (PendingSubscriber) -> KeptSubscription) {
        for subscriber in subscribers {
            let found = outcome(subscriber)
            let connection = subscriber.connection
            connection.tcp.loop.execute {
                // Left the topic while waiting: nothing to answer.
                guard connection.isSubscribed(to: topic) else { return }
                if case .subscribed(let position, _, _) = found {
                    connection.markHistory(topic, at: position)
                } else {
                    connection.unsubscribe(topic)
                }
                subscriber.respond(found)
            }
        }
    }

    /// Tells the live subscribers of `topic` that its stream started again.
    private func publishReset(_ topic: String, _ position: StreamPoint) {
        // Stamped with the new position: subscribers answered from it
        // (or waiting for an answer) skip it; those of the old epoch get it.
        let text = ClientFrame.reset(topic: topic, position: position)
        hub.publish(keptFrame(text, stamp: HistoryStamp(topic: topic, point: position, dataStart: 0)), to: topic)
    }

    /// The backplane may have missed messages: every followed mirror is
    /// read again from where it stands.
    func keptStreamsInterrupted() {
        guard let history, mirror != nil else { return }
        var reads: [(topic: String, after: UInt64, read: UInt64)] = []
        _ = history.store.forEachStream(now: HistoryKeeper.now()) { topic, stream in
            guard stream.isLive else {
                // A read under way may predate the interruption: another follows it.
                _ = mirror!.markStale(topic)
                return false
            }
            stream.isLive = false
            stream.awaitsFirstArrival = false
            if hub.subscriberCount(of: topic) > 0, let read = mirror!.needsRead(topic) { reads.append((topic, stream.top, read)) }
            return false
        }
        for read in reads { readMirror(read.topic, after: read.after, read: read.read) }
    }

    /// The node's first subscriber of `topic` arrived: the mirror is read
    /// now (unless a subscribe is reading it), so the node knows where its
    /// subscribers began, and a link lost before the first message is
    /// caught up like any other. On the backplane's loop.
    func mirrorFollowed(_ topic: String) {
        guard let history, let mirror, let limits = history.limits(for: topic) else { return }
        let read = history.store.withStream(topic, limits: limits, now: HistoryKeeper.now()) { stream in
            !stream.isLive && hub.subscriberCount(of: topic) > 0 ? mirror.needsRead(topic) : nil
        }
        if let read { readMirror(topic, after: nil, read: read) }
    }

    /// The node's last subscriber of `topic` left: the backplane stops
    /// sending it, so its mirror is dropped. Followed again, it is read
    /// afresh: what was published meanwhile is history to the new
    /// subscribers, not live messages (a catch-up would hand it to them).
    func mirrorUnfollowed(_ topic: String) {
        guard let history, let mirror, let limits = history.limits(for: topic) else { return }
        history.store.withStream(topic, limits: limits, now: HistoryKeeper.now()) { stream in
            guard hub.subscriberCount(of: topic) == 0 else { return }
            stream = TopicStream(epoch: 0, now: HistoryKeeper.now())
            stream.isLive = false
            // A read under way answers for the old follow, and what arrived
            // for it is from then.
            mirror.forget(topic)
        }
    }
}
