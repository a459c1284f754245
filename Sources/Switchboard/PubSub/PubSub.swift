import SwitchboardHub
import SwitchboardIO
import SwitchboardWire
import Synchronization

/// Topics for a server's WebSocket connections: subscribe connections from
/// their handlers, publish from anywhere.
///
/// A publish encodes its frame once into a buffer that every subscriber's
/// write queue shares, takes one registry lock briefly, and posts one task
/// to each loop that has subscribers of the topic; each loop appends the
/// frame to its local subscribers' queues and writes each subscriber once
/// per loop turn. Every subscriber of a topic sees its messages in the same
/// order. A subscriber that cannot keep up is handled by its route's
/// `SlowConsumerPolicy` and never delays the others.
public final class PubSub: Sendable {
    let hub: Hub<WebSocketConnection, PublishedFrame>
    /// Set when the server starts if a route accepts compression: then each
    /// publish carries a slot for its compressed frame.
    private let compressing = Atomic<Bool>(false)
    private let loops = LoopSlot()
    /// Messages published on this node (for the metrics).
    private let published = Atomic<Int>(0)
    var publishCount: Int { published.load(ordering: .relaxed) }
    /// Kept messages of the topics a history rule names; nil without rules.
    let history: HistoryKeeper?

    init(loopCount: Int, history: TopicHistory = TopicHistory()) {
        let loops = self.loops
        self.history = HistoryKeeper(history)
        hub = Hub(
            loopCount: loopCount,
            schedule: { index, task in
                // Before the server starts there are no loops, and so no subscribers either.
                loops.reference.load()?.loops[index].execute(task)
            },
            deliver: { connection, frame in
                // Marks exist only around a subscription's first frames:
                // in the steady state this is two loads and no retain.
                if frame.stamp != nil, !connection.context.historyMarks.isEmpty, connection.alreadyHas(frame.stamp!) { return }
                connection.context.counts.add(1, .deliveries)
                _ = connection.send(published: frame)
            }
        )
    }

    func attach(_ group: EventLoopGroup, compressing: Bool) {
        self.compressing.store(compressing, ordering: .relaxed)
        _ = loops.reference.storeIfNil(LoopList(loops: group.loops))
    }

    /// Publishes a text message to `topic`. Safe from any thread; returns at
    /// once with the number of local subscribers it will reach (an estimate
    /// when subscribers join or leave at the same moment). With a
    /// backplane, the message also goes to the other nodes.
    @discardableResult
    public func publish(_ topic: String, text: String) -> Int {
        var text = text
        return text.withUTF8 { publish(topic, UnsafeRawBufferPointer($0), isText: true) }
    }

    /// Publishes a binary message to `topic`. See `publish(_:text:)`.
    @discardableResult
    public func publish(_ topic: String, binary: [UInt8]) -> Int {
        binary.withUnsafeBytes { publish(topic, $0, isText: false) }
    }

    private func publish(_ topic: String, _ payload: UnsafeRawBufferPointer, isText: Bool) -> Int {
        countPublish()
        let reached = hub.publish(frame(payload, isText: isText), to: topic)
        backplane?.publish(topic, payload: Array(payload), isText: isText)
        return reached
    }

    /// Delivers to this node's subscribers only (messages from a backplane).
    func publishLocally(_ topic: String, payload: [UInt8], isText: Bool) -> Int {
        payload.withUnsafeBytes { hub.publish(frame($0, isText: isText), to: topic) }
    }

    func countPublish() { published.add(1, ordering: .relaxed) }

    /// The frame of a kept message (always text: the client protocol's).
    func keptFrame(_ text: String, stamp: HistoryStamp) -> PublishedFrame {
        var text = text
        return text.withUTF8 { utf8 in
            PublishedFrame(
                .text, UnsafeRawBufferPointer(utf8),
                compressed: compressing.load(ordering: .relaxed) ? CompressedFrameSlot() : nil, stamp: stamp)
        }
    }

    private func frame(_ payload: UnsafeRawBufferPointer, isText: Bool) -> PublishedFrame {
        PublishedFrame(
            isText ? .text : .binary, payload,
            compressed: compressing.load(ordering: .relaxed) ? CompressedFrameSlot() : nil
        )
    }

    // MARK: Backplane

    private var backplane: (any Backplane)? { backplaneSlot.backplane }
    private let backplaneSlot = BackplaneSlot()
    let mirrorSlot = MirrorSlot()

    /// Connects the backplane when the server starts.
    func start(_ backplane: (any Backplane)?) throws {
        guard let backplane else { return }
        guard let loop = loops.reference.load()?.loops.first else { preconditionFailure("start(_:) before attach(_:)") }
        hub.onTopicCreated = { topic in backplane.topicsChanged(topic) }
        hub.onTopicRemoved = { topic in backplane.topicsChanged(topic) }
        if let history {
            // A plain backplane: each node would number a topic's messages its own way.
            guard let kept = backplane as? any HistoryBackplane else { throw ServerError.historyWithBackplane }
            history.store.streamsStartLive = false
            mirrorSlot.set(HistoryMirror(backplane: kept))
            hub.onTopicCreated = { [weak self] topic in
                backplane.topicsChanged(topic)
                // Not here: a subscribe may hold the topic's stream lock.
                guard let self else { return }
                loop.execute { self.mirrorFollowed(topic) }
            }
            hub.onTopicRemoved = { [weak self] topic in
                backplane.topicsChanged(topic)
                self?.mirrorUnfollowed(topic)
            }
        }
        try backplane.start(BackplaneInbox(pubsub: self, loop: loop))
        backplaneSlot.set(backplane)
    }

    func stopBackplane() {
        backplaneSlot.backplane?.stop()
        // The hooks hold the backplane, which may hold this PubSub.
        hub.onTopicCreated = nil
        hub.onTopicRemoved = nil
    }

    /// Subscribers of `topic` across all loops.
    public func subscriberCount(of topic: String) -> Int { hub.subscriberCount(of: topic) }

    /// Topics with at least one subscriber.
    public var topicCount: Int { hub.topicCount }
}

/// The backplane, set once when the server starts; read on every publish.
private final class BackplaneSlot: Sendable {
    private let reference = AtomicLazyReference<Box>()
    private final class Box: Sendable {
        let backplane: any Backplane
        init(_ backplane: any Backplane) { self.backplane = backplane }
    }
    var backplane: (any Backplane)? { reference.load()?.backplane }
    func set(_ backplane: any Backplane) { _ = reference.storeIfNil(Box(backplane)) }
}

/// The server's loops, set once when it starts; read without a lock on
/// every publish.
private final class LoopSlot: Sendable {
    let reference = AtomicLazyReference<LoopList>()
}

private final class LoopList: Sendable {
    let loops: [EventLoop]
    init(loops: [EventLoop]) { self.loops = loops }
}
