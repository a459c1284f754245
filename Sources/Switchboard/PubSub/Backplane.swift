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

    /// Whether this node has local subscribers of `topic`.
    public func hasSubscribers(_ topic: String) -> Bool {
        pubsub.subscriberCount(of: topic) > 0
    }
}
