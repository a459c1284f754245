import SwitchboardDeflate
import SwitchboardIO
import SwitchboardWire

/// Topic membership, on the connection's loop.
extension WebSocketConnection {
    /// Topics this connection is subscribed to (on its loop).
    var subscriptionCount: Int {
        hasSubscriptions ? context.pubsub.hub.topics(of: self, onLoop: tcp.loop.index).count : 0
    }

    /// Runs `body` on the connection's loop: now if already there.
    func onLoop(_ body: @escaping @Sendable (WebSocketConnection) -> Void) {
        if tcp.loop.inEventLoop {
            body(self)
        } else {
            tcp.loop.execute { body(self) }
        }
    }

    func subscribe(_ topic: String) {
        guard tcp.isOpen, sink != nil else { return }
        hasSubscriptions = true
        context.pubsub.hub.subscribe(self, onLoop: tcp.loop.index, to: topic)
    }

    func unsubscribe(_ topic: String) {
        context.pubsub.hub.unsubscribe(self, onLoop: tcp.loop.index, from: topic)
    }
}
