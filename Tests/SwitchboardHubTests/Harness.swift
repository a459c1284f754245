import SwitchboardSync
import TestSupport
import Foundation
import Synchronization
@testable import SwitchboardHub

/// What the tests publish: the topic travels in the message so a subscriber
/// can tell where it came from.
struct Note: Sendable, Equatable {
    var topic: String
    var value: Int
}

/// A subscriber that records what it receives, and whether it received it on
/// its own loop.
final class Probe: Sendable {
    let id: Int
    let loop: Int
    private let received = Locked<[Note]>([])
    /// Deliveries that ran somewhere other than on `loop`.
    let misdelivered = Atomic<Int>(0)

    init(id: Int, loop: Int) {
        self.id = id
        self.loop = loop
    }

    func record(_ note: Note, onLoop currentLoop: Int?) {
        if currentLoop != loop { misdelivered.add(1, ordering: .relaxed) }
        received.withLock { $0.append(note) }
    }

    var notes: [Note] { received.withLock { $0 } }

    /// Returns and forgets what was received so far.
    func take() -> [Note] { received.withLock { notes in defer { notes = [] }; return notes } }
}

/// N real threads, each a serial FIFO executor standing in for an event loop.
final class TestLoops: Sendable {
    private final class Loop: Sendable {
        let queue = Locked<(tasks: [@Sendable () -> Void], stopping: Bool)>(([], false))
        let wake = DispatchSemaphore(value: 0)
        let exited = DispatchSemaphore(value: 0)
        let thread = Atomic<UInt>(0)
    }

    private let loops: [Loop]
    var count: Int { loops.count }

    init(count: Int) {
        loops = (0..<count).map { _ in Loop() }
        for loop in loops {
            let thread = Thread {
                loop.thread.store(UInt(pthread_self()), ordering: .releasing)
                while true {
                    loop.wake.wait()
                    let (tasks, stopping) = loop.queue.withLock { queue in
                        defer { queue.tasks = [] }
                        return (queue.tasks, queue.stopping)
                    }
                    for task in tasks { task() }
                    if stopping && tasks.isEmpty { break }
                }
                loop.exited.signal()
            }
            thread.start()
        }
    }

    /// The `schedule` closure given to the hub: FIFO per loop.
    func schedule(_ loop: Int, _ task: @escaping @Sendable () -> Void) {
        let target = loops[loop]
        target.queue.withLock { $0.tasks.append(task) }
        target.wake.signal()
    }

    /// The loop whose thread this is, if any.
    var currentLoop: Int? {
        let me = UInt(pthread_self())
        return loops.firstIndex { $0.thread.load(ordering: .acquiring) == me }
    }

    /// Runs `body` on `loop` and waits for its result.
    func run<T: Sendable>(on loop: Int, _ body: @escaping @Sendable () -> T) -> T {
        let result = Locked<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        schedule(loop) {
            let value = body()
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }

    /// Waits until every task scheduled before this call has run.
    func drain() {
        for loop in 0..<count { run(on: loop) {} }
    }

    /// Stops the threads after they finish their queued tasks.
    func stop() {
        for loop in loops {
            loop.queue.withLock { $0.stopping = true }
            loop.wake.signal()
        }
        for loop in loops { loop.exited.wait() }
    }
}

/// Virtual loops on the calling thread: `schedule` queues, `runPending` runs
/// everything queued, in FIFO order, telling whose loop is "current".
final class ManualLoops: Sendable {
    private let pending = Locked<[(loop: Int, task: @Sendable () -> Void)]>([])
    private let current = Locked<Int?>(nil)
    /// Tasks scheduled since creation.
    let scheduledCount = Atomic<Int>(0)

    func schedule(_ loop: Int, _ task: @escaping @Sendable () -> Void) {
        scheduledCount.add(1, ordering: .relaxed)
        pending.withLock { $0.append((loop, task)) }
    }

    var currentLoop: Int? { current.withLock { $0 } }
    var pendingCount: Int { pending.withLock { $0.count } }

    /// Runs queued tasks (including ones they queue) until none is left.
    @discardableResult
    func runPending() -> Int {
        var ran = 0
        while true {
            let batch = pending.withLock { queue in defer { queue = [] }; return queue }
            if batch.isEmpty { return ran }
            for (loop, task) in batch {
                current.withLock { $0 = loop }
                task()
                current.withLock { $0 = nil }
                ran += 1
            }
        }
    }
}

/// Records hook calls.
final class HookLog: Sendable {
    let events = Locked<[String]>([])
    let created = Atomic<Int>(0)
    let removed = Atomic<Int>(0)

    func install(on hub: Hub<Probe, Note>, keepEvents: Bool = true) {
        hub.onTopicCreated = { topic in
            self.created.add(1, ordering: .relaxed)
            if keepEvents { self.events.withLock { $0.append("+" + topic) } }
        }
        hub.onTopicRemoved = { topic in
            self.removed.add(1, ordering: .relaxed)
            if keepEvents { self.events.withLock { $0.append("-" + topic) } }
        }
    }

    func take() -> [String] { events.withLock { events in defer { events = [] }; return events } }
}

/// Runs `body(index)` on `count` new threads at once and waits for them all.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = DispatchSemaphore(value: 0)
    for index in 0..<count {
        Thread {
            body(index)
            done.signal()
        }.start()
    }
    for _ in 0..<count { done.wait() }
}
