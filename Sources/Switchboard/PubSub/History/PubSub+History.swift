import SwitchboardHub

extension PubSub {
    /// Where `topic`'s stream stands now, or nil when no history rule
    /// matches it. Asking creates the stream when it has none yet, so a
    /// page can load state, read this position, and subscribe `since` it
    /// with nothing lost in between. Any thread.
    ///
    /// With a history backplane it is this node's mirror's position: nil
    /// while the node does not follow the topic (it has no subscribers of
    /// it) or is catching up.
    public func position(of topic: String) -> StreamPosition? {
        guard let history, let limits = history.limits(for: topic) else { return nil }
        return history.store.withStream(topic, limits: limits, now: HistoryKeeper.now()) { stream in
            stream.isLive ? stream.position.publicPosition : nil
        }
    }

    /// Kept messages of `topic`, oldest first: the latest `limit` ones, or,
    /// `since` a position, the (at most `limit`) first ones after it; the
    /// page's `position` is where they end. Throws when the topic keeps no
    /// history or cannot give back everything after `since`. Any thread.
    public func history(of topic: String, since: StreamPosition? = nil, limit: Int = 100) throws(HistoryError) -> HistoryPage {
        guard let history, let limits = history.limits(for: topic) else { throw .notKept }
        let read: Result<HistoryPage, HistoryError> = history.store.withStream(topic, limits: limits, now: HistoryKeeper.now()) { stream in
            guard stream.isLive else { return .failure(.unavailable) }
            guard let since else {
                return .success(HistoryPage(messages: stream.latest(limit).map(Self.kept), position: stream.position.publicPosition))
            }
            let point = StreamPoint(since)
            guard point.epoch == stream.epoch else { return .failure(.epoch) }
            guard point.offset <= stream.top else { return .failure(.ahead) }
            guard let after = stream.after(point.offset, limit: limit) else {
                guard case .gap(let gap) = stream.read(since: point) else { return .failure(.expired) }
                return .failure(gap.historyError)
            }
            let end = StreamPoint(epoch: stream.epoch, offset: after.last?.offset ?? point.offset)
            return .success(HistoryPage(messages: after.map(Self.kept), position: end.publicPosition))
        }
        return try read.get()
    }

    private static func kept(_ item: (offset: UInt64, entry: PublishedFrame)) -> HistoryMessage {
        HistoryMessage(offset: item.offset, json: item.entry.data)
    }

    /// Publishes a JSON value to a history topic, as `publish(_:json:)`
    /// does, and returns the place the message got in the topic's stream
    /// once it has one: at once on a single node, once the backplane
    /// numbered it with a history backplane. Throws `.notKept` for a topic
    /// no rule names (nothing published) and `.unavailable` when the
    /// backplane could not take it (nothing published anywhere).
    public func publishKept(_ topic: String, json: String) async throws(HistoryError) -> StreamPosition {
        guard history?.limits(for: topic) != nil else { throw .notKept }
        let result: Result<StreamPosition, HistoryError> = await withCheckedContinuation { continuation in
            publishMessage(topic, json: json) { _, point, failed in
                if let point, !failed {
                    continuation.resume(returning: .success(point.publicPosition))
                } else {
                    continuation.resume(returning: .failure(.unavailable))
                }
            }
        }
        return try result.get()
    }

    /// Publishes a client-protocol message; on a history topic it is kept
    /// and numbered under the stream's lock, which is also held while the
    /// hub schedules it, so offsets reach every subscriber in order. With a
    /// history backplane the backplane numbers it and delivers it to every
    /// node, this one included (`deliverKept`). `acknowledged` gets the
    /// subscribers reached and the message's position (nil on a topic
    /// without history), or `failed` when the backplane could not take
    /// it: at once, or later from any thread with a backplane.
    @discardableResult
    func publishMessage(
        _ topic: String, json: String,
        acknowledged: (@Sendable (_ reached: Int, _ point: StreamPoint?, _ failed: Bool) -> Void)? = nil
    ) -> Int {
        guard let history, let limits = history.limits(for: topic) else {
            let reached = publish(topic, text: ClientFrame.message(topic: topic, json: json))
            acknowledged?(reached, nil, false)
            return reached
        }
        countPublish()
        if let mirror {
            let reached = hub.subscriberCount(of: topic)
            mirror.backplane.publishKept(topic, json: json, limits: history.keptLimits(for: topic)!) { position in
                acknowledged?(reached, position.map(StreamPoint.init), position == nil)
            }
            return reached
        }
        let (reached, point) = history.store.append(
            to: topic, limits: limits, now: HistoryKeeper.now(),
            make: { point in keptMessage(topic, point, json) },
            then: { frame, point in (hub.publish(frame, to: topic), point) }
        )
        acknowledged?(reached, point, false)
        return reached
    }

    /// The frame of a kept message and its size for the budget.
    func keptMessage(_ topic: String, _ point: StreamPoint, _ json: String) -> (entry: PublishedFrame, bytes: Int) {
        let (text, dataStart) = ClientFrame.message(topic: topic, offset: point.offset, json: json)
        let frame = keptFrame(text, stamp: HistoryStamp(topic: topic, point: point, dataStart: dataStart))
        return (frame, frame.plain.count)
    }

    /// What subscribing a connection to a history topic found.
    enum KeptSubscription: Sendable {
        /// Subscribed at `position`; `replay` is what it missed since the
        /// point it asked for (nil: it asked for none, or that failed: `gap`).
        case subscribed(position: StreamPoint, replay: [PublishedFrame]?, gap: StreamGap?)
        /// The point asked for is past the stream: nothing was done.
        case ahead
        /// The history backplane could not be read.
        case unavailable
    }

    /// Subscribes `connection` (on its loop) to `topic` if it keeps history,
    /// under the stream's lock, so no publish falls between the position
    /// read and the subscription; live frames up to that position are then
    /// skipped for it (they are replayed, or were before its time).
    /// `respond` gets the outcome: at once, or, while a mirrored stream is
    /// being read, later on the connection's loop. Returns false for a
    /// topic without history (nothing done, `respond` not called).
    func subscribeKept(
        _ connection: WebSocketConnection, to topic: String, since: StreamPoint?, maxReplayBytes: Int,
        respond: @escaping @Sendable (KeptSubscription) -> Void
    ) -> Bool {
        guard let history, let limits = history.limits(for: topic) else { return false }
        let mirror = self.mirror
        var startsRead: UInt64?
        let outcome: KeptSubscription? = history.store.withStream(topic, limits: limits, now: HistoryKeeper.now()) { stream in
            if !stream.isLive, let mirror {
                // A mirror not read yet: subscribed now (so the node follows
                // the topic upstream), answered once read; nothing reaches
                // it before the answer.
                connection.subscribe(topic)
                connection.markHistory(topic, at: .pending)
                startsRead = mirror.wait(topic, subscriber: PendingSubscriber(
                    connection: connection, since: since, maxReplayBytes: maxReplayBytes, respond: respond))
                return nil
            }
            return Self.subscribe(connection, topic, since: since, maxReplayBytes: maxReplayBytes, in: stream)
        }
        if let outcome { respond(outcome) }
        if let startsRead { readMirror(topic, after: nil, read: startsRead) }
        return true
    }

    /// Subscribes `connection` at `stream`'s position; under its lock, on
    /// the connection's loop.
    private static func subscribe(
        _ connection: WebSocketConnection, _ topic: String, since: StreamPoint?, maxReplayBytes: Int, in stream: TopicStream<PublishedFrame>
    ) -> KeptSubscription {
        let found = outcome(since: since, maxReplayBytes: maxReplayBytes, in: stream)
        if case .subscribed = found {
            connection.subscribe(topic)
            connection.markHistory(topic, at: stream.position)
        }
        return found
    }

    /// What a subscriber asking for `since` gets from `stream`.
    static func outcome(since: StreamPoint?, maxReplayBytes: Int, in stream: TopicStream<PublishedFrame>) -> KeptSubscription {
        guard let since else { return .subscribed(position: stream.position, replay: nil, gap: nil) }
        switch stream.read(since: since, maxBytes: maxReplayBytes) {
        case .ahead: return .ahead
        case .complete(let frames): return .subscribed(position: stream.position, replay: frames, gap: nil)
        case .gap(let reason): return .subscribed(position: stream.position, replay: nil, gap: reason)
        }
    }

    /// Sweeps one shard of the history (expired messages, forgotten
    /// positions); the first loop calls it every `HistoryKeeper.sweepMilliseconds`.
    func sweepHistory() {
        guard let history else { return }
        history.store.sweep(
            now: HistoryKeeper.now(), limits: { history.limits(for: $0) },
            hasSubscribers: { hub.subscriberCount(of: $0) > 0 })
    }
}

extension PublishedFrame {
    /// A kept message's `data` as JSON text.
    var data: String {
        guard let stamp else { return "" }
        return withPayload { payload in
            String(decoding: UnsafeRawBufferPointer(rebasing: payload[stamp.dataStart..<(payload.count - 1)]), as: UTF8.self)
        }
    }
}
