import Synchronization
import SwitchboardSync
@testable import SwitchboardHub
import Testing

private let limits = StreamLimits(maxMessages: 100, maxBytes: 1 << 20, retentionMilliseconds: 60_000)

/// Epochs 1, 2, 3… so a test can tell streams apart.
private func store(budget: Int = 1 << 20, positionRetention: UInt64 = 10_000) -> HistoryStore<Int> {
    let next = Atomic<UInt64>(0)
    return HistoryStore(budget: budget, metadataRetentionMilliseconds: positionRetention, shardCount: 4) {
        next.add(1, ordering: .relaxed).newValue
    }
}

private func publish(_ store: HistoryStore<Int>, _ topic: String, _ value: Int, bytes: Int = 100, now: UInt64) -> StreamPoint {
    store.append(to: topic, limits: limits, now: now, make: { _ in (value, bytes) }, then: { _, point in point })
}

@Suite("History store")
struct HistoryStoreTests {
    @Test("Each topic has its own stream and epoch; publishes under the lock get dense offsets")
    func streams() {
        let s = store()
        #expect(publish(s, "a", 1, now: 0) == StreamPoint(epoch: 1, offset: 1))
        #expect(publish(s, "b", 1, now: 0) == StreamPoint(epoch: 2, offset: 1))
        #expect(publish(s, "a", 2, now: 0) == StreamPoint(epoch: 1, offset: 2))
        #expect(s.streamCount == 2)
        #expect(s.peek("a") { $0.read(since: StreamPoint(epoch: 1, offset: 0)) } == .complete([1, 2]))
        #expect(s.peek("c") { $0.count } == nil)
    }

    @Test("Concurrent publishers: offsets are dense and each is handed out once")
    func concurrentOffsets() async {
        let s = store(budget: .max)
        let seen = Locked<Set<UInt64>>([])
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for value in 0..<500 {
                        let point = publish(s, "t", value, bytes: 1, now: 0)
                        seen.withLock { _ = $0.insert(point.offset) }
                    }
                }
            }
        }
        #expect(seen.withLock { $0 } == Set(1...2_000))
    }

    @Test("The budget counts messages and positions; over it the oldest messages of the node go first")
    func budget() {
        let entry = 100 + HistoryStore<Int>.entryOverhead
        let stream = HistoryStore<Int>.streamOverhead + 1
        let s = store(budget: 2 * stream + 10 * entry + 100)
        for second in 0..<5 {
            _ = publish(s, "a", second, now: UInt64(second) * 1000)
            _ = publish(s, "b", second, now: UInt64(second) * 1000 + 500)
        }
        #expect(s.bytesUsed == 2 * stream + 10 * entry)
        // One more message: over budget, so down to 90 %: the first second
        // of both topics goes (the oldest of the node), nothing newer.
        _ = publish(s, "a", 5, now: 5000)
        #expect(s.bytesUsed == 2 * stream + 11 * entry - 2 * entry)
        #expect(s.peek("a") { $0.read(since: StreamPoint(epoch: 1, offset: 0)) } == .gap(.expired))
        #expect(s.peek("a") { $0.read(since: StreamPoint(epoch: 1, offset: 1)) } == .complete([1, 2, 3, 4, 5]))
        #expect(s.peek("b") { $0.read(since: StreamPoint(epoch: 2, offset: 1)) } == .complete([1, 2, 3, 4]))
    }

    @Test("The sweep expires quiet topics' messages, then forgets their positions, never a watched one's")
    func sweep() {
        let s = store(positionRetention: 100_000)
        _ = publish(s, "quiet", 1, now: 0)
        _ = publish(s, "watched", 1, now: 0)
        let sweepAll = { (now: UInt64) in
            for _ in 0..<4 { s.sweep(now: now, limits: { _ in limits }, hasSubscribers: { $0 == "watched" }) }
        }
        sweepAll(30_000)
        #expect(s.peek("quiet") { $0.count } == 1)
        sweepAll(61_000)  // messages expired; positions kept
        #expect(s.peek("quiet") { $0.count } == 0)
        #expect(s.peek("quiet") { $0.position } == StreamPoint(epoch: 1, offset: 1))
        #expect(s.bytesUsed == 2 * (HistoryStore<Int>.streamOverhead) + "quiet".utf8.count + "watched".utf8.count)
        sweepAll(100_000)  // 100 s after the last publish: the unwatched position goes
        #expect(s.peek("quiet") { $0.count } == nil)
        #expect(s.peek("watched") { $0.position } == StreamPoint(epoch: 2, offset: 1))
        #expect(s.streamCount == 1)
        // Published again, it starts a new epoch: a client's old position reads as such.
        #expect(publish(s, "quiet", 2, now: 101_000) == StreamPoint(epoch: 3, offset: 1))
    }

    @Test("Millions of short-lived topics: over the budget, the oldest unwatched positions go")
    func manyTopics() {
        let perStream = HistoryStore<Int>.streamOverhead + 6
        let s = store(budget: 1_000 * perStream, positionRetention: .max / 2)
        for index in 0..<5_000 {
            let topic = "t" + String(100_000 + index).dropFirst()
            _ = s.withStream(topic, limits: limits, now: UInt64(index)) { $0.position }
            if index % 250 == 0 { for _ in 0..<4 { s.sweep(now: UInt64(index), limits: { _ in limits }, hasSubscribers: { _ in false }) } }
        }
        for _ in 0..<4 { s.sweep(now: 5_000, limits: { _ in limits }, hasSubscribers: { _ in false }) }
        #expect(s.bytesUsed <= 1_000 * perStream)
        #expect(s.streamCount <= 1_000)
        #expect(s.peek("t04999") { $0.position } != nil)
        #expect(s.peek("t00000") { $0.position } == nil)
    }
}
