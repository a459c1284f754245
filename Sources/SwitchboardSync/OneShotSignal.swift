/// Something that happens once (a server has stopped), awaited by any
/// number of tasks. Waiting after it happened returns at once; a waiting
/// task that is cancelled stops waiting.
package final class OneShotSignal: Sendable {
    private struct State {
        var hasFired = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Locked(State())

    package init() {}

    package var hasFired: Bool { state.withLock { $0.hasFired } }

    /// Wakes every waiter, now and later. Only the first call counts.
    package func fire() {
        let waiters = state.withLock { state in
            guard !state.hasFired else { return [CheckedContinuation<Void, Never>]() }
            state.hasFired = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `fire()` was called, or when the task is cancelled.
    package func wait() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.hasFired || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
