import Glibc
import SwitchboardHub
import SwitchboardIO

/// A server's history: the configuration's rules and this node's streams
/// of kept frames. Exists only when some rule is configured.
final class HistoryKeeper: Sendable {
    let configuration: TopicHistory
    let store: HistoryStore<PublishedFrame>
    /// How often the server's first loop sweeps one shard of the store.
    static let sweepMilliseconds: UInt64 = 250

    init?(_ configuration: TopicHistory) {
        guard !configuration.rules.isEmpty else { return nil }
        self.configuration = configuration
        store = HistoryStore(
            budget: configuration.memoryBudget,
            metadataRetentionMilliseconds: configuration.positionRetention.milliseconds)
    }

    /// What a history backplane keeps of `topic`.
    func keptLimits(for topic: String) -> KeptLimits? {
        configuration.policy(for: topic).map { KeptLimits(policy: $0, positionRetention: configuration.positionRetention) }
    }

    func limits(for topic: String) -> StreamLimits? {
        configuration.policy(for: topic).map {
            StreamLimits(maxMessages: $0.maxMessages, maxBytes: $0.maxBytes, retentionMilliseconds: $0.retention.milliseconds)
        }
    }

    /// Milliseconds on the monotonic clock, from any thread (the coarse
    /// clock: a few ms of resolution is plenty for retention, and it is a
    /// vDSO read).
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        return UInt64(time.tv_sec) * 1000 + UInt64(time.tv_nsec) / 1_000_000
    }
}

extension StreamPoint {
    /// The mark of a subscriber waiting for its mirror to be read: no
    /// history frame reaches it until its answer (no stream has epoch 0).
    static let pending = StreamPoint(epoch: 0, offset: .max)

    /// The epoch as the client protocol and the public API write it: 16 hex digits.
    var epochText: String {
        let hex = String(epoch, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    var publicPosition: StreamPosition { StreamPosition(epoch: epochText, offset: offset) }

    /// A position read from a client or the app; an epoch that is not one
    /// of ours reads as 0, which no stream has.
    init(_ position: StreamPosition) {
        let epoch = position.epoch.utf8.count == 16 ? UInt64(position.epoch, radix: 16) ?? 0 : 0
        self.init(epoch: epoch, offset: position.offset)
    }
}

extension StreamGap {
    var historyError: HistoryError {
        switch self {
        case .epoch: .epoch
        case .expired: .expired
        case .tooFar: .tooFar
        }
    }
}
