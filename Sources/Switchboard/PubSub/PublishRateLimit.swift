/// How often one connection of a pub/sub endpoint may publish: `perSecond`
/// on average, `burst` at once. Past it a publish is answered with error
/// `rate_limited` and not carried out; the connection stays open.
public struct PublishRateLimit: Sendable, Equatable {
    public var perSecond: Int
    public var burst: Int

    public init(perSecond: Int, burst: Int) {
        precondition(perSecond > 0 && burst > 0, "a publish rate limit needs a positive rate and burst")
        self.perSecond = perSecond
        self.burst = burst
    }

    /// 100 publishes a second, 200 at once: more than a person types or a
    /// live page sends, far less than a script flooding a topic.
    public static let `default` = PublishRateLimit(perSecond: 100, burst: 200)
}

/// A token bucket: `burst` tokens, refilled at `perSecond`, one per
/// publish. Times in milliseconds. A value: tested without a clock.
struct TokenBucket {
    private var tokens: Int
    /// In thousandths of a token, so that slow rates refill exactly.
    private var milliTokens = 0
    private var last: UInt64

    init(_ limit: PublishRateLimit, now: UInt64) {
        tokens = limit.burst
        last = now
    }

    mutating func take(_ limit: PublishRateLimit, now: UInt64) -> Bool {
        if now > last {
            // At most a full bucket's worth, so a long quiet spell cannot overflow.
            let elapsed = min(now - last, UInt64(limit.burst) * 1_000 / UInt64(limit.perSecond) + 1_000)
            milliTokens += Int(elapsed) * limit.perSecond
            tokens = min(limit.burst, tokens + milliTokens / 1_000)
            milliTokens %= 1_000
            if tokens == limit.burst { milliTokens = 0 }
            last = now
        }
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }
}

/// Each connection's bucket, kept by the connection's loop (no lock): made
/// at its first publish, dropped when it closes.
final class PublishBuckets: @unchecked Sendable {
    /// One box per loop, each changed only on its loop's thread. The list
    /// itself never changes: a `var` array of dictionaries was one value
    /// that two loops wrote at once (Thread Sanitizer: an access race when
    /// connections closed on both loops together).
    private let perLoop: [LoopBuckets]

    private final class LoopBuckets {
        var buckets: [ObjectIdentifier: TokenBucket] = [:]
    }

    init(loopCount: Int) {
        perLoop = (0..<loopCount).map { _ in LoopBuckets() }
    }

    /// On `loop`'s thread.
    func take(_ limit: PublishRateLimit, connection: ObjectIdentifier, loop: Int, now: UInt64) -> Bool {
        guard loop < perLoop.count else { return true }
        return perLoop[loop].buckets[connection, default: TokenBucket(limit, now: now)].take(limit, now: now)
    }

    /// On `loop`'s thread.
    func remove(connection: ObjectIdentifier, loop: Int) {
        guard loop < perLoop.count else { return }
        perLoop[loop].buckets[connection] = nil
    }
}
