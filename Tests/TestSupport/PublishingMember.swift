public import Switchboard

/// Subscribes each connection of `/topic/:name` to NAME and publishes what
/// it sends there, the sender included, opcode kept: BenchHost's route, for
/// the chaos test and the connection-io fuzz target.
public struct PublishingMember: WebSocketHandler {
    public let pubsub: PubSub
    public init(pubsub: PubSub) { self.pubsub = pubsub }
    public func authenticate(_ request: Request) throws -> String { request.parameters["name"] ?? "" }
    public func onOpen(_ socket: WebSocket<String>) { socket.subscribe(socket.userData) }
    public func onText(_ socket: WebSocket<String>, _ text: String) { pubsub.publish(socket.userData, text: text) }
    public func onBinary(_ socket: WebSocket<String>, _ data: [UInt8]) { pubsub.publish(socket.userData, binary: data) }
}
