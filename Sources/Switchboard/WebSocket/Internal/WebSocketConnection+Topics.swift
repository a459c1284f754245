import SwitchboardDeflate
import SwitchboardHub
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
        if tcp.isOnLoopThread {
            body(self)
        } else {
            tcp.loop.execute { body(self) }
        }
    }

    func subscribe(_ topic: String) {
        guard transportIsOpen, !isFinished else { return }
        hasSubscriptions = true
        context.pubsub.hub.subscribe(self, onLoop: tcp.loop.index, to: topic)
    }

    func unsubscribe(_ topic: String) {
        context.pubsub.hub.unsubscribe(self, onLoop: tcp.loop.index, from: topic)
        context.forgetHistoryMark(of: self, topic: topic)
    }

    /// Whether this connection is subscribed to `topic` (on its loop).
    func isSubscribed(to topic: String) -> Bool {
        hasSubscriptions && context.pubsub.hub.isSubscribed(self, onLoop: tcp.loop.index, to: topic)
    }

    /// Remembers where `topic`'s stream stood when this connection
    /// subscribed to it through the client protocol.
    func markHistory(_ topic: String, at point: StreamPoint) {
        // As `subscribe`: a connection that has finished never forgets again.
        guard transportIsOpen, !isFinished else { return }
        context.historyMarks[ObjectIdentifier(self), default: [:]][topic] = point
    }

    /// Whether a live frame of a history topic is one this connection was
    /// already sent (as replay) or that predates its subscription. The
    /// first newer frame ends the mark (frames of a topic reach a loop in
    /// offset order), so in the steady state the loop has no marks and a
    /// delivery pays one `isEmpty`.
    func alreadyHas(_ stamp: HistoryStamp) -> Bool {
        guard !context.historyMarks.isEmpty, let mark = context.historyMarks[ObjectIdentifier(self)]?[stamp.topic] else { return false }
        if mark == .pending || (mark.epoch == stamp.point.epoch && stamp.point.offset <= mark.offset) { return true }
        context.forgetHistoryMark(of: self, topic: stamp.topic)
        return false
    }
}
