import SwitchboardSync
import TestSupport
import Foundation
import Synchronization
@testable import SwitchboardHub
import Testing

/// A hub over `ManualLoops`: everything runs on the test thread.
private func manualHub(loops: Int, shards: Int = 64) -> (Hub<Probe, Note>, ManualLoops) {
    let manual = ManualLoops()
    let hub = Hub<Probe, Note>(
        loopCount: loops,
        shardCount: shards,
        schedule: { manual.schedule($0, $1) },
        deliver: { probe, note in probe.record(note, onLoop: manual.currentLoop) })
    return (hub, manual)
}

/// A hub over real loop threads.
private func threadedHub(_ loops: TestLoops) -> Hub<Probe, Note> {
    Hub<Probe, Note>(
        loopCount: loops.count,
        schedule: { loops.schedule($0, $1) },
        deliver: { probe, note in probe.record(note, onLoop: loops.currentLoop) })
}

@Suite("Hub")
struct HubTests {
    @Test("Exactly-once delivery, same order for every subscriber, publishers' order kept")
    func exactlyOnceInOrder() {
        let loops = TestLoops(count: 3)
        defer { loops.stop() }
        let hub = threadedHub(loops)
        let probes = (0..<300).map { Probe(id: $0, loop: $0 % 3) }
        for probe in probes {
            #expect(loops.run(on: probe.loop) { hub.subscribe(probe, onLoop: probe.loop, to: "t") })
        }
        #expect(hub.subscriberCount(of: "t") == 300)

        let publishers = 4
        let perPublisher = 2_000
        let wrongCounts = Atomic<Int>(0)
        onThreads(publishers) { publisher in
            for sequence in 0..<perPublisher {
                let reached = hub.publish(Note(topic: "t", value: publisher * 1_000_000 + sequence), to: "t")
                if reached != 300 { wrongCounts.add(1, ordering: .relaxed) }
            }
        }
        loops.drain()

        #expect(wrongCounts.load(ordering: .relaxed) == 0)
        let reference = probes[0].notes
        #expect(reference.count == publishers * perPublisher)
        var next = [Int](repeating: 0, count: publishers)
        for note in reference {
            #expect(note.topic == "t")
            let publisher = note.value / 1_000_000
            #expect(note.value % 1_000_000 == next[publisher])
            next[publisher] += 1
        }
        #expect(next == [Int](repeating: perPublisher, count: publishers))
        // Same messages, same global interleaving, on the right loop.
        let differing = probes.dropFirst().filter { $0.notes != reference }.map(\.id)
        #expect(differing.isEmpty)
        #expect(probes.allSatisfy { $0.misdelivered.load(ordering: .relaxed) == 0 })
    }

    @Test("Topics are isolated; publishing to a topic nobody has schedules nothing")
    func topicIsolation() {
        // A single shard also works (every topic behind one lock).
        let (hub, manual) = manualHub(loops: 2, shards: 1)
        let onA = (0..<10).map { Probe(id: $0, loop: $0 % 2) }
        let onB = (10..<20).map { Probe(id: $0, loop: $0 % 2) }
        for probe in onA { hub.subscribe(probe, onLoop: probe.loop, to: "a") }
        for probe in onB { hub.subscribe(probe, onLoop: probe.loop, to: "b") }

        #expect(hub.publish(Note(topic: "a", value: 1), to: "a") == 10)
        // One task per loop with subscribers, not one per subscriber.
        #expect(manual.pendingCount == 2)
        manual.runPending()
        for probe in onA { #expect(probe.take() == [Note(topic: "a", value: 1)]) }
        for probe in onB { #expect(probe.take().isEmpty) }

        let before = manual.scheduledCount.load(ordering: .relaxed)
        #expect(hub.publish(Note(topic: "nobody", value: 2), to: "nobody") == 0)
        #expect(hub.publish(Note(topic: "A", value: 3), to: "A") == 0)
        #expect(manual.scheduledCount.load(ordering: .relaxed) == before)

        // Only loop 1 has subscribers of "c": one task, for loop 1.
        let solo = Probe(id: 99, loop: 1)
        hub.subscribe(solo, onLoop: 1, to: "c")
        #expect(hub.publish(Note(topic: "c", value: 4), to: "c") == 1)
        #expect(manual.pendingCount == 1)
        manual.runPending()
        #expect(solo.take() == [Note(topic: "c", value: 4)])
        for probe in onA + onB {
            #expect(probe.take().isEmpty)
            #expect(probe.misdelivered.load(ordering: .relaxed) == 0)
        }
    }

    @Test("Counts, topic lifetime and backplane hooks")
    func countsAndHooks() {
        let (hub, manual) = manualHub(loops: 3)
        let hooks = HookLog()
        hooks.install(on: hub)
        let p0 = Probe(id: 0, loop: 0)
        let p1 = Probe(id: 1, loop: 1)
        let p2 = Probe(id: 2, loop: 2)

        #expect(hub.topicCount == 0)
        #expect(hub.subscribe(p0, onLoop: 0, to: "x"))
        #expect(hooks.take() == ["+x"])
        #expect(!hub.subscribe(p0, onLoop: 0, to: "x"))
        #expect(hub.subscribe(p1, onLoop: 1, to: "x"))
        #expect(hub.subscribe(p2, onLoop: 2, to: "x"))
        #expect(hub.subscribe(p2, onLoop: 2, to: "y"))
        #expect(hooks.take() == ["+y"])
        #expect(hub.topicCount == 2)
        #expect(hub.subscriberCount(of: "x") == 3)
        #expect(hub.subscriberCount(of: "y") == 1)
        #expect(hub.subscriberCount(of: "z") == 0)
        #expect(hub.topics(of: p2, onLoop: 2) == ["x", "y"])
        #expect(hub.publish(Note(topic: "x", value: 1), to: "x") == 3)
        #expect(hub.publish(Note(topic: "y", value: 2), to: "y") == 1)
        manual.runPending()
        #expect(p2.take() == [Note(topic: "x", value: 1), Note(topic: "y", value: 2)])

        #expect(hub.unsubscribe(p0, onLoop: 0, from: "x"))
        #expect(!hub.unsubscribe(p0, onLoop: 0, from: "x"))
        #expect(!hub.unsubscribe(p0, onLoop: 0, from: "never"))
        #expect(hub.subscriberCount(of: "x") == 2)
        #expect(hooks.take().isEmpty)
        #expect(Set(hub.unsubscribeAll(p2, onLoop: 2)) == ["x", "y"])
        #expect(hooks.take() == ["-y"])
        #expect(hub.unsubscribeAll(p2, onLoop: 2).isEmpty)
        #expect(hub.topicCount == 1)
        #expect(hub.unsubscribe(p1, onLoop: 1, from: "x"))
        #expect(hooks.take() == ["-x"])
        #expect(hub.topicCount == 0)
        #expect(hub.subscriberCount(of: "x") == 0)
        #expect(hub.publish(Note(topic: "x", value: 3), to: "x") == 0)
        for loop in 0..<3 { #expect(hub.localEntryCount(loop: loop) == 0) }

        // A topic comes back to life with a new "created".
        #expect(hub.subscribe(p1, onLoop: 1, to: "x"))
        #expect(hooks.take() == ["+x"])
        #expect(hooks.created.load(ordering: .relaxed) == 3)
        #expect(hooks.removed.load(ordering: .relaxed) == 2)
    }

    @Test("10,000 subscribe/unsubscribeAll cycles leave nothing behind")
    func cleanup() {
        let loops = TestLoops(count: 3)
        defer { loops.stop() }
        let hub = threadedHub(loops)
        let hooks = HookLog()
        hooks.install(on: hub, keepEvents: false)
        let mismatches = Atomic<Int>(0)
        let stopPublishing = Atomic<Bool>(false)
        let cyclesPerLoop = 10_000 / 3 + 1
        let done = DispatchSemaphore(value: 0)

        // A publisher keeps hitting the shared topics meanwhile.
        let publisherDone = DispatchSemaphore(value: 0)
        Thread {
            var index = 0
            while !stopPublishing.load(ordering: .relaxed) {
                hub.publish(Note(topic: "shared\(index % 7)", value: index), to: "shared\(index % 7)")
                index += 1
            }
            publisherDone.signal()
        }.start()

        for loop in 0..<3 {
            loops.schedule(loop) {
                let probe = Probe(id: loop, loop: loop)
                for cycle in 0..<cyclesPerLoop {
                    let topics: Set = ["shared\(cycle % 7)", "loop\(loop)-\(cycle % 11)", "unique\(loop)-\(cycle)"]
                    for topic in topics { hub.subscribe(probe, onLoop: loop, to: topic) }
                    if Set(hub.topics(of: probe, onLoop: loop)) != topics { mismatches.add(1, ordering: .relaxed) }
                    if Set(hub.unsubscribeAll(probe, onLoop: loop)) != topics { mismatches.add(1, ordering: .relaxed) }
                }
                done.signal()
            }
        }
        for _ in 0..<3 { done.wait() }
        stopPublishing.store(true, ordering: .relaxed)
        publisherDone.wait()
        loops.drain()

        #expect(mismatches.load(ordering: .relaxed) == 0)
        #expect(hub.topicCount == 0)
        for loop in 0..<3 {
            #expect(loops.run(on: loop) { hub.localEntryCount(loop: loop) } == 0)
        }
        #expect(hooks.created.load(ordering: .relaxed) == hooks.removed.load(ordering: .relaxed))
        #expect(hooks.created.load(ordering: .relaxed) >= cyclesPerLoop * 3)
    }

    @Test("Unsubscribing during delivery: skipped if not reached yet; joining: not reached")
    func reentrantDelivery() {
        let manual = ManualLoops()
        let probes = (0..<40).map { Probe(id: $0, loop: 0) }
        let order = Locked<[Int]>([])
        let hubBox = Locked<Hub<Probe, Note>?>(nil)
        let late = Probe(id: 100, loop: 0)
        let hub = Hub<Probe, Note>(
            loopCount: 1,
            schedule: { manual.schedule($0, $1) },
            deliver: { probe, note in
                probe.record(note, onLoop: manual.currentLoop)
                order.withLock { $0.append(probe.id) }
                guard note.value == 1, let hub = hubBox.withLock({ $0 }) else { return }
                // Every fourth probe closes the next three (enough removals to
                // compact the list, which must wait for the walk to end), and
                // the first one makes a late subscriber join.
                if probe.id % 4 == 0 {
                    for next in probe.id + 1...probe.id + 3 { hub.unsubscribeAll(probes[next], onLoop: 0) }
                }
                if probe.id == 0 { hub.subscribe(late, onLoop: 0, to: "t") }
            })
        hubBox.withLock { $0 = hub }
        for probe in probes { hub.subscribe(probe, onLoop: 0, to: "t") }
        let kept = probes.filter { $0.id % 4 == 0 }.map(\.id)

        #expect(hub.publish(Note(topic: "t", value: 1), to: "t") == 40)
        manual.runPending()
        #expect(order.withLock { order in defer { order = [] }; return order } == kept)
        #expect(late.take().isEmpty)
        #expect(hub.subscriberCount(of: "t") == kept.count + 1)
        #expect(hub.localSubscriberCount(of: "t", loop: 0) == kept.count + 1)

        // Subscription order survives the removals and the compaction.
        #expect(hub.publish(Note(topic: "t", value: 2), to: "t") == kept.count + 1)
        manual.runPending()
        #expect(order.withLock { $0 } == kept + [late.id])
        hubBox.withLock { $0 = nil }
    }

    @Test("Model-based fuzz: 20,000 seeded operations against a dictionary of ordered sets (4,000 under sanitizers)")
    func modelFuzz() {
        let log = Locked<[(probe: Int, value: Int)]>([])
        let manual = ManualLoops()
        let loopCount = 3
        let hub = Hub<Probe, Note>(
            loopCount: loopCount,
            schedule: { manual.schedule($0, $1) },
            deliver: { probe, note in
                probe.record(note, onLoop: manual.currentLoop)
                log.withLock { $0.append((probe.id, note.value)) }
            })
        let hooks = HookLog()
        hooks.install(on: hub)

        var random = SeededGenerator(seed: 0x5357_4954_4348)
        let probes = (0..<60).map { Probe(id: $0, loop: $0 % loopCount) }
        let topics = (0..<6).map { "topic\($0)" }
        // topic -> subscribers in subscription order
        var model: [String: [Int]] = [:]
        // Published but not yet run: (topic, value, loops scheduled)
        var pending: [(topic: String, value: Int, loops: [Int])] = []
        var nextValue = 0

        func checkRun() {
            manual.runPending()
            var expected: [(probe: Int, value: Int)] = []
            for item in pending {
                for loop in item.loops {
                    for id in model[item.topic, default: []] where probes[id].loop == loop {
                        expected.append((id, item.value))
                    }
                }
            }
            pending = []
            let actual = log.withLock { log in defer { log = [] }; return log }
            #expect(actual.map(\.probe) == expected.map(\.probe))
            #expect(actual.map(\.value) == expected.map(\.value))
        }

        // A synchronous test holds a thread of Swift's cooperative pool (two
        // on these machines) while it runs: under a sanitizer 20,000 steps
        // took a minute, long enough to starve other tests' tasks.
        for step in 0..<(TestEnvironment.isSanitized ? 4_000 : 20_000) {
            let probe = probes[Int.random(in: 0..<probes.count, using: &random)]
            let topic = topics[Int.random(in: 0..<topics.count, using: &random)]
            let subscribers = model[topic, default: []]
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<35:
                let fresh = !subscribers.contains(probe.id)
                #expect(hub.subscribe(probe, onLoop: probe.loop, to: topic) == fresh)
                if fresh {
                    model[topic, default: []].append(probe.id)
                    #expect(hooks.take() == (subscribers.isEmpty ? ["+" + topic] : []))
                }
            case 35..<60:
                let present = subscribers.contains(probe.id)
                #expect(hub.unsubscribe(probe, onLoop: probe.loop, from: topic) == present)
                if present {
                    model[topic]!.removeAll { $0 == probe.id }
                    if model[topic]!.isEmpty { model[topic] = nil }
                    #expect(hooks.take() == (model[topic] == nil ? ["-" + topic] : []))
                }
            case 60..<65:
                let mine = Set(model.filter { $0.value.contains(probe.id) }.keys)
                #expect(Set(hub.unsubscribeAll(probe, onLoop: probe.loop)) == mine)
                var emptied: Set<String> = []
                for topic in mine {
                    model[topic]!.removeAll { $0 == probe.id }
                    if model[topic]!.isEmpty {
                        model[topic] = nil
                        emptied.insert(topic)
                    }
                }
                #expect(Set(hooks.take()) == Set(emptied.map { "-" + $0 }))
            case 65..<95:
                let before = manual.scheduledCount.load(ordering: .relaxed)
                #expect(hub.publish(Note(topic: topic, value: nextValue), to: topic) == subscribers.count)
                let loops = Set(subscribers.map { probes[$0].loop }).sorted()
                #expect(manual.scheduledCount.load(ordering: .relaxed) - before == loops.count)
                pending.append((topic, nextValue, loops))
                nextValue += 1
            default:
                checkRun()
            }
            if step % 500 == 0 {
                #expect(hub.topicCount == model.count)
                for topic in topics {
                    #expect(hub.subscriberCount(of: topic) == model[topic, default: []].count)
                }
                #expect(
                    hub.topics(of: probe, onLoop: probe.loop)
                        == model.filter { $0.value.contains(probe.id) }.keys.sorted())
            }
        }
        checkRun()
        for probe in probes {
            hub.unsubscribeAll(probe, onLoop: probe.loop)
            #expect(probe.misdelivered.load(ordering: .relaxed) == 0)
        }
        #expect(hub.topicCount == 0)
        for loop in 0..<loopCount { #expect(hub.localEntryCount(loop: loop) == 0) }
        #expect(hooks.created.load(ordering: .relaxed) == hooks.removed.load(ordering: .relaxed))
    }

    @Test("Stress: 8 loops subscribe, unsubscribe and publish at once")
    func stress() {
        let loopCount = 8
        let loops = TestLoops(count: loopCount)
        defer { loops.stop() }
        let hub = threadedHub(loops)
        let hooks = HookLog()
        hooks.install(on: hub, keepEvents: false)
        let topics = (0..<16).map { "s\($0)" }
        let probesPerLoop = 8
        let probes = (0..<loopCount).map { loop in
            (0..<probesPerLoop).map { Probe(id: loop * probesPerLoop + $0, loop: loop) }
        }
        let opsPerLoop = 4_000
        let chunk = 200
        let finished = DispatchSemaphore(value: 0)

        // Each loop works in chunks and reschedules itself, so deliveries to it
        // interleave with its own subscribe/unsubscribe work.
        @Sendable func work(loop: Int, done: Int, seed: UInt64) {
            var random = SeededGenerator(seed: seed)
            for op in done..<min(done + chunk, opsPerLoop) {
                let probe = probes[loop][Int.random(in: 0..<probesPerLoop, using: &random)]
                let topic = topics[Int.random(in: 0..<topics.count, using: &random)]
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4: hub.subscribe(probe, onLoop: loop, to: topic)
                case 4..<7: hub.unsubscribe(probe, onLoop: loop, from: topic)
                case 7: hub.unsubscribeAll(probe, onLoop: loop)
                default: hub.publish(Note(topic: topic, value: loop * 1_000_000 + op), to: topic)
                }
            }
            if done + chunk >= opsPerLoop {
                for probe in probes[loop] { hub.unsubscribeAll(probe, onLoop: loop) }
                finished.signal()
            } else {
                let next = random.next()
                loops.schedule(loop) { work(loop: loop, done: done + chunk, seed: next) }
            }
        }
        for loop in 0..<loopCount {
            loops.schedule(loop) { work(loop: loop, done: 0, seed: UInt64(loop + 1)) }
        }
        for _ in 0..<loopCount { finished.wait() }
        loops.drain()

        #expect(hub.topicCount == 0)
        for topic in topics { #expect(hub.subscriberCount(of: topic) == 0) }
        for loop in 0..<loopCount {
            #expect(loops.run(on: loop) { hub.localEntryCount(loop: loop) } == 0)
        }
        #expect(hooks.created.load(ordering: .relaxed) == hooks.removed.load(ordering: .relaxed))
        var delivered = 0
        for probe in probes.joined() {
            #expect(probe.misdelivered.load(ordering: .relaxed) == 0)
            let notes = probe.notes
            delivered += notes.count
            // At most once, and each publishing loop's messages in order.
            #expect(Set(notes.map(\.value)).count == notes.count)
            var last: [Int: Int] = [:]
            for note in notes {
                #expect(note.topic == topics[Int(note.topic.dropFirst())!])
                let publisher = note.value / 1_000_000
                #expect(note.value > last[publisher, default: -1])
                last[publisher] = note.value
            }
        }
        #expect(delivered > 0)
    }
}
