import SwitchboardHub
import SwitchboardSync
import Synchronization

/// With a `HistoryBackplane`, the backplane numbers history messages and
/// each node mirrors the streams of the topics it has subscribers of: the
/// node's `HistoryStore` holds the mirrors (not live until read), and this
/// holds what waits for a read: the subscribers to answer and the
/// messages that arrived meanwhile.
///
/// Locking: `waits` is only taken while the topic's history shard lock is
/// held (history shard, then this), and the backplane is only called with
/// neither held.
final class HistoryMirror: Sendable {
    let backplane: any HistoryBackplane
    private let waits = Locked<[String: MirrorWait]>([:])

    init(backplane: any HistoryBackplane) {
        self.backplane = backplane
    }

    /// Notes a subscriber to answer once `topic` is read; true when a read
    /// must be started (none is under way).
    func wait(_ topic: String, subscriber: PendingSubscriber) -> Bool {
        waits.withLock { waits in
            waits[topic, default: MirrorWait()].subscribers.append(subscriber)
            return waits[topic]!.startReading()
        }
    }

    /// Keeps a message that arrived while `topic` is being read; true when
    /// a read must be started.
    func buffer(_ topic: String, point: StreamPoint, json: String) -> Bool {
        waits.withLock { waits in
            waits[topic, default: MirrorWait()].buffered.append((point, json))
            return waits[topic]!.startReading()
        }
    }

    /// True when a read of `topic` must be started (none is under way).
    func needsRead(_ topic: String) -> Bool {
        waits.withLock { waits in waits[topic, default: MirrorWait()].startReading() }
    }

    /// A read of `topic` under way may not cover what the backplane missed
    /// after it was sent: it is to be followed by another. True if a read
    /// is under way.
    func markStale(_ topic: String) -> Bool {
        waits.withLock { waits in
            guard waits[topic]?.reading == true else { return false }
            waits[topic]!.stale = true
            return true
        }
    }

    /// What waited for the read of `topic` that just finished.
    func finishReading(_ topic: String) -> MirrorWait {
        waits.withLock { $0.removeValue(forKey: topic) ?? MirrorWait() }
    }
}

struct MirrorWait {
    var subscribers: [PendingSubscriber] = []
    var buffered: [(point: StreamPoint, json: String)] = []
    var reading = false
    /// The backplane was interrupted while the read was under way.
    var stale = false

    /// Marks a read as under way; true if it was not.
    mutating func startReading() -> Bool {
        defer { reading = true }
        return !reading
    }
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
