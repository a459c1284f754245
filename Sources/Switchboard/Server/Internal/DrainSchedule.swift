/// How a stopping server spreads its 1001s: `count` WebSockets closed in
/// equal shares, one share every `tick` milliseconds over `window`, the
/// first at once, so the clients of a node that goes away do not all come
/// back to the others in the same moment. A value: tested without sockets
/// or clocks.
struct DrainSchedule: Equatable {
    let count: Int
    let ticks: Int
    private(set) var tick = 0
    private(set) var closed = 0

    static let tickMilliseconds: UInt64 = 10

    /// `window` 0 closes everything at once.
    init(count: Int, windowMilliseconds window: UInt64) {
        self.count = count
        ticks = max(1, Int(window / Self.tickMilliseconds))
    }

    /// How long the drain of `count` WebSockets takes at `rate` closes a
    /// second, never longer than `window`.
    static func window(count: Int, rate: Int, longest window: Duration) -> Duration {
        guard rate > 0 else { return window }
        return min(window, .milliseconds(count * 1_000 / rate))
    }

    /// How many to close at this tick (then the next tick); nil when all
    /// have been.
    mutating func next() -> Int? {
        guard closed < count else { return nil }
        tick += 1
        // Cumulative share rounded up: the last tick closes the rest.
        let due = tick >= ticks ? count : (count * tick + ticks - 1) / ticks
        defer { closed = due }
        return due - closed
    }
}
