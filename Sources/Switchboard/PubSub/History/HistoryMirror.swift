import SwitchboardHub
import SwitchboardSync
import Synchronization

/// With a `HistoryBackplane`, the backplane numbers history messages and
/// each node mirrors the streams of the topics it has subscribers of: the
/// node's `HistoryStore` holds the mirrors (not live until read), and this
/// holds what waits for a read: the subscribers to answer and the
/// messages that arrived meanwhile.
///
/// Locking: its state is only taken while the topic's history shard lock is
/// held (history shard, then this), and the backplane is only called with
/// neither held.
final class HistoryMirror: Sendable {
    let backplane: any HistoryBackplane
    private let state = Locked(State())

    private struct State {
        var waits: [String: MirrorWait] = [:]
        /// Numbers reads, so the answer of one made before the topic was
        /// dropped (`forget`) is known for what it is.
        var lastRead: UInt64 = 0

        /// Marks a read of `topic` as under way; its number if one must
        /// be started (none was under way).
        mutating func startReading(_ topic: String) -> UInt64? {
            var wait = waits[topic] ?? MirrorWait()
            guard wait.read == nil else { return nil }
            lastRead += 1
            wait.read = lastRead
            waits[topic] = wait
            return lastRead
        }
    }

    init(backplane: any HistoryBackplane) {
        self.backplane = backplane
    }

    /// Notes a subscriber to answer once `topic` is read; the number of a
    /// read to start, nil when one is under way.
    func wait(_ topic: String, subscriber: PendingSubscriber) -> UInt64? {
        state.withLock { state in
            state.waits[topic, default: MirrorWait()].subscribers.append(subscriber)
            return state.startReading(topic)
        }
    }

    /// Keeps a message that arrived while `topic` is being read; the
    /// number of a read to start, nil when one is under way.
    func buffer(_ topic: String, point: StreamPoint, json: String) -> UInt64? {
        state.withLock { state in
            state.waits[topic, default: MirrorWait()].buffered.append((point, json))
            return state.startReading(topic)
        }
    }

    /// The number of a read of `topic` to start, nil when one is under way.
    func needsRead(_ topic: String) -> UInt64? {
        state.withLock { $0.startReading(topic) }
    }

    /// A read of `topic` under way may not cover what the backplane missed
    /// after it was sent: it is to be followed by another. True if a read
    /// is under way.
    func markStale(_ topic: String) -> Bool {
        state.withLock { state in
            guard state.waits[topic]?.read != nil else { return false }
            state.waits[topic]!.stale = true
            return true
        }
    }

    /// What waited for read number `read` of `topic`, which just finished;
    /// nil when that read no longer counts (the topic was dropped since).
    func finishReading(_ topic: String, read: UInt64) -> MirrorWait? {
        state.withLock { state in
            guard state.waits[topic]?.read == read else { return nil }
            return state.waits.removeValue(forKey: topic)
        }
    }

    /// The node follows `topic` no more: a read under way no longer counts,
    /// and what waited for it is dropped (its subscribers left).
    func forget(_ topic: String) {
        _ = state.withLock { $0.waits.removeValue(forKey: topic) }
    }
}

struct MirrorWait {
    var subscribers: [PendingSubscriber] = []
    var buffered: [(point: StreamPoint, json: String)] = []
    /// The number of the read under way.
    var read: UInt64?
    /// The backplane was interrupted while the read was under way.
    var stale = false
}

/// A client's subscribe to a history topic whose mirror is being read.
struct PendingSubscriber: Sendable {
    let connection: WebSocketConnection
    let since: StreamPoint?
    let maxReplayBytes: Int
    let respond: @Sendable (PubSub.KeptSubscription) -> Void
}

/// The mirror, set when the server starts with a history backplane.
final class MirrorSlot: Sendable {
    private let reference = AtomicLazyReference<HistoryMirror>()
    var mirror: HistoryMirror? { reference.load() }
    func set(_ mirror: HistoryMirror) { _ = reference.storeIfNil(mirror) }
}
