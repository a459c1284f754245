import Synchronization

/// A thread-safe counter for tests that count callbacks.
public final class Counter: Sendable {
    private let storage = Atomic<Int>(0)
    public init() {}
    public func increment(by amount: Int = 1) { storage.add(amount, ordering: .relaxed) }
    public var value: Int { storage.load(ordering: .relaxed) }
}
