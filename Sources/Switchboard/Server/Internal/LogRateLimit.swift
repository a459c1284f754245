/// At most `perSecond` log lines a second (per loop): what a peer can
/// trigger (refusals, protocol errors, handler failures) cannot flood the
/// log under attack. The first line after a quiet spell says how many were
/// left out. A value: tested without a clock.
struct LogRateLimit {
    let perSecond: Int
    private var second: UInt64 = .max
    private var used = 0
    private var suppressed = 0

    init(perSecond: Int) {
        self.perSecond = perSecond
    }

    /// Whether a line may be written at `now` (milliseconds), and how many
    /// were left out before it.
    mutating func admit(now: UInt64) -> (allowed: Bool, leftOut: Int) {
        let current = now / 1_000
        if current != second {
            second = current
            used = 0
        }
        guard used < perSecond else {
            suppressed += 1
            return (false, 0)
        }
        used += 1
        defer { suppressed = 0 }
        return (true, suppressed)
    }
}
