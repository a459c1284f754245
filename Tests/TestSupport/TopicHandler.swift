public import Switchboard

/// Subscribes to `?topic=` on open; "sub X" / "unsub X" change topics; any
/// other text is published to the first topic.
public struct TopicHandler: WebSocketHandler {
    public let pubsub: PubSub
    public init(pubsub: PubSub) { self.pubsub = pubsub }
    public func authenticate(_ request: Request) throws -> String { request.queryValue("topic") ?? "none" }
    public func onOpen(_ socket: WebSocket<String>) { socket.subscribe(socket.userData) }
    public func onText(_ socket: WebSocket<String>, _ text: String) {
        if text.hasPrefix("sub ") {
            socket.subscribe(String(text.dropFirst(4)))
            socket.send(text: "subscribed")
        } else if text.hasPrefix("unsub ") {
            socket.unsubscribe(String(text.dropFirst(6)))
            socket.send(text: "unsubscribed")
        } else {
            pubsub.publish(socket.userData, text: text)
        }
    }
}
