import Glibc
import SwitchboardSync
import Testing

/// The two ways async code waits on the server's threads: `OneShotSignal`
/// and `runOnDetachedThread`.
@Suite("Waiting without the cooperative pool")
struct WaitingTests {
    @Test("a signal wakes every waiter, and those that come after it")
    func signalWakesEveryone() async {
        let signal = OneShotSignal()
        await withTaskGroup(of: Void.self) { waiters in
            for _ in 0..<8 { waiters.addTask { await signal.wait() } }
            signal.fire()
            signal.fire()  // only the first counts
        }
        #expect(signal.hasFired)
        await signal.wait()
    }

    @Test("a cancelled waiter stops waiting; the signal stays unfired")
    func cancelledWaiterReturns() async {
        let signal = OneShotSignal()
        let waiter = Task { await signal.wait() }
        waiter.cancel()
        await waiter.value
        #expect(!signal.hasFired)
        // Cancelled before it waits at all.
        await withTaskGroup(of: Void.self) { group in
            group.cancelAll()
            group.addTask { await signal.wait() }
        }
    }

    @Test("work handed to a detached thread runs off the caller's thread")
    func detachedThreadRuns() async {
        let caller = pthread_self()
        let ranElsewhere = await withCheckedContinuation { continuation in
            runOnDetachedThread { continuation.resume(returning: pthread_equal(pthread_self(), caller) == 0) }
        }
        #expect(ranElsewhere)
    }
}
