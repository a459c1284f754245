/// Where a topic's stream stands: its epoch (random, new each time the
/// stream is created, so a restarted server or a lost stream is told apart
/// from a quiet one) and the offset of its last message (0 before the
/// first; offsets are dense within an epoch).
package struct StreamPoint: Hashable, Sendable {
    package var epoch: UInt64
    package var offset: UInt64

    package init(epoch: UInt64, offset: UInt64) {
        self.epoch = epoch
        self.offset = offset
    }
}

/// How much history one topic keeps.
package struct StreamLimits: Hashable, Sendable {
    package var maxMessages: Int
    package var maxBytes: Int
    /// Messages older than this (since they were published) are dropped.
    package var retentionMilliseconds: UInt64

    package init(maxMessages: Int, maxBytes: Int, retentionMilliseconds: UInt64) {
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
        self.retentionMilliseconds = retentionMilliseconds
    }
}

/// Why a stream cannot give back what a reader missed.
package enum StreamGap: String, Sendable, Equatable {
    /// The reader's epoch is not the stream's: the stream was created again
    /// (a restart, or its metadata expired) since the reader saw it.
    case epoch
    /// What was missed aged out (retention, or the node's history budget).
    case expired
    /// More was missed than the ring holds (or than the reader may be sent at once).
    case tooFar = "too_far"
}

/// The outcome of reading a stream since a point.
package enum StreamRead<Entry>: Sendable where Entry: Sendable {
    /// Every message after the point, oldest first (empty when it is current).
    case complete([Entry])
    case gap(StreamGap)
    /// The point's offset is past the stream's last: not a point a reader can have.
    case ahead
}

extension StreamRead: Equatable where Entry: Equatable {}

/// One topic's history: its position and a bounded ring of its latest
/// messages, each with its offset, size and publish time.
///
/// A value with no lock, no clock and no I/O: the store holds it under its
/// shard lock and passes the time in, so every rule here is tested alone.
package struct TopicStream<Entry: Sendable>: Sendable {
    struct Kept: Sendable {
        let offset: UInt64
        let bytes: Int
        let time: UInt64
        let entry: Entry
    }

    package let epoch: UInt64
    package private(set) var top: UInt64 = 0
    /// Oldest first; `ring[head...]` are the kept messages (the slice before
    /// `head` is spare room, reclaimed when it grows past half).
    private var ring: ContiguousArray<Kept> = []
    private var head = 0
    package private(set) var bytes = 0
    /// Highest offset dropped to make room (count or size): a reader behind
    /// it missed more than the ring holds.
    private var droppedForRoomThrough: UInt64 = 0
    /// When the stream last changed (created, published to): metadata of a
    /// quiet, unwatched stream is dropped some time after this.
    package private(set) var lastActivity: UInt64

    /// Whether the stream is known to be current. Always true for a
    /// node's own streams; a mirror of a backplane's stream is not live
    /// until read, nor after it may have missed messages.
    package var isLive = true
    /// A mirror's last offset handed to this node's subscribers. Its read
    /// can bring messages the backplane has not handed over yet; those go
    /// out when they arrive. Unused by a node's own streams.
    package var deliveredThrough: UInt64 = 0
    /// A mirror's first read found nothing arrived yet: the first message
    /// that arrives sets `deliveredThrough` (its subscribers began there).
    package var awaitsFirstArrival = false

    package init(epoch: UInt64, now: UInt64) {
        self.epoch = epoch
        lastActivity = now
    }

    /// A stream whose last offset is `top` (a mirror read from elsewhere;
    /// its kept messages are appended next, from `top + 1`).
    package init(epoch: UInt64, top: UInt64, now: UInt64) {
        self.epoch = epoch
        self.top = top
        lastActivity = now
    }

    package var position: StreamPoint { StreamPoint(epoch: epoch, offset: top) }
    package var count: Int { ring.count - head }
    /// Publish time of the oldest kept message.
    package var oldestTime: UInt64? { head < ring.count ? ring[head].time : nil }

    /// Appends the next message; returns its offset and the bytes freed by
    /// the messages it pushed out.
    package mutating func append(_ entry: Entry, bytes size: Int, now: UInt64, limits: StreamLimits) -> (offset: UInt64, freed: Int) {
        top += 1
        lastActivity = now
        var freed = expire(now: now, limits: limits)
        ring.append(Kept(offset: top, bytes: size, time: now, entry: entry))
        bytes += size
        while count > limits.maxMessages || (bytes > limits.maxBytes && count > 1) {
            droppedForRoomThrough = ring[head].offset
            freed += dropOldest()
        }
        return (top, freed)
    }

    /// Drops the messages older than the retention; returns the bytes freed.
    @discardableResult
    package mutating func expire(now: UInt64, limits: StreamLimits) -> Int {
        guard now > limits.retentionMilliseconds else { return 0 }
        return drop(publishedBefore: now - limits.retentionMilliseconds)
    }

    /// Drops the messages published before `time` (age or the node's
    /// budget); returns the bytes freed.
    @discardableResult
    package mutating func drop(publishedBefore time: UInt64) -> Int {
        var freed = 0
        while head < ring.count, ring[head].time < time { freed += dropOldest() }
        return freed
    }

    private mutating func dropOldest() -> Int {
        let size = ring[head].bytes
        bytes -= size
        head += 1
        if head == ring.count {
            ring.removeAll(keepingCapacity: ring.capacity <= 64)
            head = 0
        } else if head > 32, head * 2 > ring.count {
            ring.removeFirst(head)
            head = 0
        }
        return size
    }

    /// The messages after `point`, if the ring still has all of them and
    /// they come to at most `maxBytes` and `limit` messages.
    package func read(since point: StreamPoint, maxBytes: Int = .max, limit: Int = .max) -> StreamRead<Entry> {
        guard point.epoch == epoch else { return .gap(.epoch) }
        guard point.offset <= top else { return .ahead }
        if point.offset == top { return .complete([]) }
        let first = head < ring.count ? ring[head].offset : top + 1
        if point.offset + 1 < first {
            return .gap(point.offset + 1 <= droppedForRoomThrough ? .tooFar : .expired)
        }
        let start = head + Int(point.offset + 1 - first)
        guard ring.count - start <= limit else { return .gap(.tooFar) }
        var total = 0
        for index in start..<ring.count { total += ring[index].bytes }
        guard total <= maxBytes else { return .gap(.tooFar) }
        return .complete(ring[start...].map(\.entry))
    }

    /// Calls `body` with each kept message's publish time and size, oldest first.
    package func forEachKept(_ body: (_ time: UInt64, _ bytes: Int) -> Void) {
        for index in head..<ring.count { body(ring[index].time, ring[index].bytes) }
    }

    /// Up to `limit` of the latest messages with their offsets, oldest first.
    package func latest(_ limit: Int) -> [(offset: UInt64, entry: Entry)] {
        ring[max(head, ring.count - max(limit, 0))...].map { ($0.offset, $0.entry) }
    }

    /// Messages after `offset` (at most `limit`, the oldest of them), with
    /// their offsets; nil when some of them are no longer kept.
    package func after(_ offset: UInt64, limit: Int) -> [(offset: UInt64, entry: Entry)]? {
        guard offset < top else { return [] }
        let first = head < ring.count ? ring[head].offset : top + 1
        guard offset + 1 >= first else { return nil }
        let start = head + Int(offset + 1 - first)
        return ring[start..<min(ring.count, start + max(limit, 0))].map { ($0.offset, $0.entry) }
    }
}
