import SwitchboardHub

extension PubSub {
    /// Where `topic`'s stream stands now, or nil when no history rule
    /// matches it. Asking creates the stream when it has none yet, so a
    /// page can load state, read this position, and subscribe `since` it
    /// with nothing lost in between. Any thread.
    public func position(of topic: String) -> StreamPosition? {
        guard let history, let limits = history.limits(for: topic) else { return nil }
        return history.store.withStream(topic, limits: limits, now: HistoryKeeper.now()) { $0.position.publicPosition }
    }

    /// Kept messages of `topic`, oldest first: the latest `limit` ones, or,
    /// `since` a position, the (at most `limit`) first ones after it; the
    /// page's `position` is where they end. Throws when the topic keeps no
    /// history or cannot give back everything after `since`. Any thread.
    public func history(of topic: String, since: StreamPosition? = nil, limit: Int = 100) throws(HistoryError) -> HistoryPage {
        guard let history, let limits = history.limits(for: topic) else { throw .notKept }
        let read: Result<HistoryPage, HistoryError> = history.store.withStream(topic, limits: limits, now: HistoryKeeper.now()) { stream in
            guard let since else {
                return .success(HistoryPage(messages: stream.latest(limit).map(Self.kept), position: stream.position.publicPosition))
            }
            let point = StreamPoint(since)
            switch stream.read(since: point, limit: 0) {
            case .gap(.epoch): return .failure(.epoch)
            case .ahead: return .failure(.ahead)
            default: break
            }
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

    /// Publishes a client-protocol message; on a history topic it is kept
    /// and numbered under the stream's lock, which is also held while the
    /// hub schedules it, so offsets reach every subscriber in order.
    func publishMessage(_ topic: String, json: String) -> (reached: Int, point: StreamPoint?) {
        guard let history, let limits = history.limits(for: topic) else {
            return (publish(topic, text: ClientFrame.message(topic: topic, json: json)), nil)
        }
        countPublish()
        return history.store.append(
            to: topic, limits: limits, now: HistoryKeeper.now(),
            make: { point in
                let (text, dataStart) = ClientFrame.message(topic: topic, offset: point.offset, json: json)
                let frame = keptFrame(text, stamp: HistoryStamp(topic: topic, point: point, dataStart: dataStart))
                return (frame, frame.plain.count)
            },
            then: { frame, point in (hub.publish(frame, to: topic), point) }
        )
    }

    /// What subscribing a connection to a history topic found.
    enum KeptSubscription {
        /// Subscribed at `position`; `replay` is what it missed since the
        /// point it asked for (nil: it asked for none, or that failed: `gap`).
        case subscribed(position: StreamPoint, replay: [PublishedFrame]?, gap: StreamGap?)
        /// The point asked for is past the stream: nothing was done.
        case ahead
    }

    /// Subscribes `connection` (on its loop) to `topic` if it keeps history:
    /// under the stream's lock, so no publish falls between the position
    /// read and the subscription; live frames up to that position are then
    /// skipped for it (they are replayed, or were before its time).
    /// Returns nil for a topic without history (nothing done).
    func subscribeKept(_ connection: WebSocketConnection, to topic: String, since: StreamPoint?, maxReplayBytes: Int) -> KeptSubscription? {
        guard let history, let limits = history.limits(for: topic) else { return nil }
        return history.store.withStream(topic, limits: limits, now: HistoryKeeper.now()) { stream in
            var replay: [PublishedFrame]?
            var gap: StreamGap?
            if let since {
                switch stream.read(since: since, maxBytes: maxReplayBytes) {
                case .ahead: return .ahead
                case .complete(let frames): replay = frames
                case .gap(let reason): gap = reason
                }
            }
            connection.subscribe(topic)
            connection.markHistory(topic, at: stream.position)
            return .subscribed(position: stream.position, replay: replay, gap: gap)
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
