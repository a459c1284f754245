import Foundation

/// Runs `body` on a thread of its own and waits for it without holding a
/// thread of the cooperative pool. Swift Testing runs synchronous tests on
/// that pool (one thread per core): a test that blocks there for a minute
/// (socket reads, thousands of connections) holds up every async test
/// meanwhile. Check results after it returns: an `#expect` inside `body`
/// runs outside the test's task.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
