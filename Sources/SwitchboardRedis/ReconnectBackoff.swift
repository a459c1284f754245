/// Delays between reconnection attempts: exponential with jitter, so
/// nodes that lost Redis together do not all come back in the same
/// millisecond.
///
/// Each delay is drawn from the upper half of the current step ("equal
/// jitter"): at least half the step, so the backoff still backs off. The
/// step doubles after each attempt up to `maximum`; `reset()` after a
/// connection has worked.
struct ReconnectBackoff {
    let initial: UInt64
    let maximum: UInt64
    private var step: UInt64

    /// Milliseconds.
    init(initial: UInt64, maximum: UInt64) {
        precondition(initial > 0 && maximum >= initial, "backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        step = initial
    }

    /// The next delay in milliseconds; `random` picks a value in a range
    /// (injected so tests are deterministic).
    mutating func nextDelay(random: (ClosedRange<UInt64>) -> UInt64 = { UInt64.random(in: $0) }) -> UInt64 {
        let delay = step / 2 + random(0...(step - step / 2))
        step = min(step * 2, maximum)
        return delay
    }

    mutating func reset() { step = initial }
}
