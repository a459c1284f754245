@testable import SwitchboardHub
import Testing

private let limits = StreamLimits(maxMessages: 5, maxBytes: 1_000, retentionMilliseconds: 60_000)

/// A stream with `count` messages of 10 bytes, one a second from t=1000 ms.
private func stream(_ count: Int, limits: StreamLimits = limits) -> TopicStream<Int> {
    var stream = TopicStream<Int>(epoch: 7, now: 0)
    for value in 1...max(count, 1) where count > 0 {
        _ = stream.append(value, bytes: 10, now: UInt64(value) * 1000, limits: limits)
    }
    return stream
}

@Suite("Topic stream")
struct TopicStreamTests {
    @Test("Offsets are dense from 1; the position reads 0 before any message")
    func denseOffsets() {
        var empty = TopicStream<Int>(epoch: 9, now: 0)
        #expect(empty.position == StreamPoint(epoch: 9, offset: 0))
        #expect(empty.read(since: StreamPoint(epoch: 9, offset: 0)) == .complete([]))
        let (offset, freed) = empty.append(42, bytes: 10, now: 1, limits: limits)
        #expect(offset == 1 && freed == 0)
        #expect(empty.read(since: StreamPoint(epoch: 9, offset: 0)) == .complete([42]))
    }

    @Test("Reading since a point gives exactly what came after it, in order")
    func readSince() {
        let s = stream(4)
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 1)) == .complete([2, 3, 4]))
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 4)) == .complete([]))
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 5)) == .ahead)
        #expect(s.read(since: StreamPoint(epoch: 8, offset: 1)) == .gap(.epoch))
    }

    @Test("Past the ring's count or size a reader is too far behind; a current one is not")
    func ringBounds() {
        let s = stream(8)  // keeps 4...8
        #expect(s.count == 5)
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 3)) == .complete([4, 5, 6, 7, 8]))
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 2)) == .gap(.tooFar))
        var bySize = stream(0)
        let small = StreamLimits(maxMessages: 100, maxBytes: 25, retentionMilliseconds: 60_000)
        for value in 1...4 { _ = bySize.append(value, bytes: 10, now: 1, limits: small) }
        #expect(bySize.count == 2)
        #expect(bySize.read(since: StreamPoint(epoch: 7, offset: 1)) == .gap(.tooFar))
        // The latest message stays even when it alone is over the size.
        _ = bySize.append(5, bytes: 100, now: 1, limits: small)
        #expect(bySize.read(since: StreamPoint(epoch: 7, offset: 4)) == .complete([5]))
    }

    @Test("Replay is all or nothing within a byte or count bound")
    func replayBound() {
        let s = stream(5)
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 0), maxBytes: 49) == .gap(.tooFar))
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 0), maxBytes: 50) == .complete([1, 2, 3, 4, 5]))
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 0), limit: 4) == .gap(.tooFar))
    }

    @Test("Aged-out messages read as expired; a reader with the current position still recovers")
    func expiry() {
        var s = stream(3)
        let freed = s.expire(now: 62_500, limits: limits)  // drops those of 1 s and 2 s
        #expect(freed == 20)
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 1)) == .gap(.expired))
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 2)) == .complete([3]))
        s.expire(now: 1_000_000, limits: limits)
        #expect(s.count == 0 && s.bytes == 0)
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 3)) == .complete([]))
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 2)) == .gap(.expired))
    }

    @Test("Pages after an offset, and the latest messages")
    func pages() {
        let s = stream(8)
        #expect(s.after(5, limit: 2).map { $0.map(\.offset) } == [6, 7])
        #expect(s.after(8, limit: 2).map { $0.map(\.offset) } == [])
        #expect(s.after(2, limit: 2) == nil)
        #expect(s.latest(2).map(\.entry) == [7, 8])
        #expect(s.latest(50).map(\.entry) == [4, 5, 6, 7, 8])
    }

    @Test("A long-lived ring reuses its room and keeps its byte count exact")
    func longRun() {
        var s = stream(0)
        for value in 1...10_000 { _ = s.append(value, bytes: value % 7 + 1, now: UInt64(value), limits: limits) }
        #expect(s.count == 5)
        #expect(s.bytes == (9_996...10_000).reduce(0) { $0 + $1 % 7 + 1 })
        #expect(s.read(since: StreamPoint(epoch: 7, offset: 9_995)) == .complete([9_996, 9_997, 9_998, 9_999, 10_000]))
    }
}

extension Optional where Wrapped == [(offset: UInt64, entry: Int)] {
    static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): true
        case (let a?, let b?): a.map(\.offset) == b.map(\.offset)
        default: false
        }
    }
}
