import Glibc

/// A value behind a `pthread_mutex_t`: the lock of every Switchboard module.
///
/// Used instead of `Synchronization.Mutex` for one reason: Thread Sanitizer
/// on Linux does not see `Mutex` (its lock lives in the uninstrumented
/// standard library and waits on a futex), so every access it guards is
/// reported as a race and a TSan run of the server would be noise. TSan
/// intercepts pthread mutexes, so with this lock its reports are real.
/// Uncontended, both cost about the same.
package final class Locked<State>: @unchecked Sendable {
    // Safe to share: `state` is only touched between lock and unlock.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var state: State

    package init(_ state: State) {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        self.state = state
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }
}
