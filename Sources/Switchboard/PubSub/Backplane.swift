public import SwitchboardIO

/// Carries publishes between Switchboard processes, so a publish on any
/// node reaches the subscribers on every node. The Redis backplane
/// implements it; application code does not change when one is added
/// (`ServerConfiguration.backplane`).
///
/// The contract:
/// - `publish` receives every publish made on this node (from application
///   code or a client) after it was delivered locally; the backplane
///   forwards it to the other nodes and must not hand it back to this one
///   (local subscribers already have it: exactly once).
/// - Messages from other nodes go to `BackplaneInbox.deliver`, which
///   delivers them to this node's subscribers only.
/// - `topicsChanged` is called when this node gains its first or loses its
///   last local subscriber of a topic; it may be called from any loop and
///   the changes of two loops may arrive in either order, so treat it as
///   "look again": compare with `inbox.hasSubscribers(topic)` and subscribe
///   or unsubscribe upstream to match.
/// - Calls must not block: hand the work to the backplane's own thread or
///   loop.
public protocol Backplane: Sendable {
    /// Called once when the server starts.
    func start(_ inbox: BackplaneInbox) throws
    /// Called once when the server stops.
    func stop()
    /// A local publish, to forward to the other nodes.
    func publish(_ topic: String, payload: [UInt8], isText: Bool)
    /// This node's interest in `topic` may have changed.
    func topicsChanged(_ topic: String)
}

/// A backplane that also carries topic history between nodes
/// (`ServerConfiguration.history`): it gives each message of a history
/// topic its place (epoch, offset) in one order for every node, keeps it,
/// and lets a node read what it missed. `RedisBackplane` is one.
///
/// The contract, besides `Backplane`'s:
/// - `publishKept` numbers and keeps the message and delivers it to every
///   node with subscribers of the topic, this one included, through
///   `BackplaneInbox.deliverKept`, in the backplane's order. `completion`
///   (any thread) gets the message's position, or nil when it could not be
///   published (the backplane is unreachable).
/// - `readKept` answers with the topic's position and its kept messages
///   after `after` (all it keeps when nil), and only once this node
///   receives the topic's new messages (its subscription upstream is in
///   place), so nothing falls between the read and what `deliverKept`
///   brings next. A topic without a position gets one (a new epoch).
///   `completion` runs on any thread, never inside the call; nil only when
///   the backplane stopped or no longer follows the topic.
/// - When `deliverKept` may have missed messages (a lost link), call
///   `BackplaneInbox.keptStreamsInterrupted()`: the node reads again.
public protocol HistoryBackplane: Backplane {
    func publishKept(_ topic: String, json: String, limits: KeptLimits, completion: @escaping @Sendable (StreamPosition?) -> Void)
    func readKept(_ topic: String, after offset: UInt64?, limits: KeptLimits, completion: @escaping @Sendable (KeptStream?) -> Void)
}

/// How long and how much a `HistoryBackplane` keeps of one topic: its
/// `HistoryPolicy` and the node's `TopicHistory.positionRetention`.
public struct KeptLimits: Sendable, Hashable {
    public var policy: HistoryPolicy
    public var positionRetention: Duration

    public init(policy: HistoryPolicy, positionRetention: Duration) {
        self.policy = policy
        self.positionRetention = positionRetention
    }
}

/// A topic's stream as a `HistoryBackplane` read it.
public struct KeptStream: Sendable {
    /// The stream's epoch and its last offset.
    public var position: StreamPosition
    /// Kept messages after the offset asked for, oldest first, with
    /// consecutive offsets ending at `position.offset` (or none).
    public var messages: [HistoryMessage]

    public init(position: StreamPosition, messages: [HistoryMessage]) {
        self.position = position
        self.messages = messages
    }
}

/// Where a backplane hands over what other nodes published.
public struct BackplaneInbox: Sendable {
    let pubsub: PubSub

    /// The server's event loop a backplane may run its I/O on (its first
    /// loop), so it needs no thread of its own. Handles it opens there must
    /// be closed by `stop()`: the server checks for leaks when it shuts down.
    public let loop: EventLoop

    /// Delivers a message from another node to this node's subscribers of
    /// `topic` (not forwarded again). Safe from any thread.
    @discardableResult
    public func deliver(_ topic: String, payload: [UInt8], isText: Bool) -> Int {
        pubsub.publishLocally(topic, payload: payload, isText: isText)
    }

    /// Delivers a message of a history topic, numbered by the backplane,
    /// to this node's subscribers (and its mirror of the topic's history).
    /// Call in the backplane's order; on the backplane's loop.
    public func deliverKept(_ topic: String, position: StreamPosition, json: String) {
        pubsub.deliverKept(topic, position: position, json: json)
    }

    /// `deliverKept` may have missed messages (a link was lost): the node
    /// reads every history topic it follows again, catching its
    /// subscribers up or telling them `reset`.
    public func keptStreamsInterrupted() {
        pubsub.keptStreamsInterrupted()
    }

    /// Whether this node has local subscribers of `topic`.
    public func hasSubscribers(_ topic: String) -> Bool {
        pubsub.subscriberCount(of: topic) > 0
    }
}
