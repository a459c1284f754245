// HummingbirdBenchHost: BenchHost's protocol (the bench harness's
// PROTOCOL.md) served by a Hummingbird app, whose WebSocket routes are
// handed off to Switchboard on the app's own port: the hand-off benchmark
// (Benchmarks/README.md).
//
//   PORT=9000 swift run -c release HummingbirdBenchHost
//
// GET /health and POST /publish/NAME are Hummingbird routes; /echo and
// /topic/NAME are upgraded by Switchboard.
import Foundation
import Hummingbird
import Switchboard
import SwitchboardHummingbird

let environment = ProcessInfo.processInfo.environment
let port = environment["PORT"].flatMap(Int.init) ?? 9000
let loopCount = environment["LOOPS"].flatMap(Int.init) ?? System.defaultLoopCount

let switchboard = Server(configuration: ServerConfiguration(loopCount: loopCount))

/// Sends every message back unchanged, with its opcode.
struct Echo: WebSocketHandler {
    func onText(_ socket: WebSocket<Void>, _ text: String) { socket.send(text: text) }
    func onBinary(_ socket: WebSocket<Void>, _ data: [UInt8]) { socket.send(binary: data) }
}

/// Subscribes each connection to its topic; every message it sends is
/// published to that topic, the sender included, opcode kept.
struct TopicMember: WebSocketHandler {
    let pubsub: PubSub
    func authenticate(_ request: Switchboard.Request) throws -> String { request.parameters["name"] ?? "" }
    func onOpen(_ socket: WebSocket<String>) { socket.subscribe(socket.userData) }
    func onText(_ socket: WebSocket<String>, _ text: String) { pubsub.publish(socket.userData, text: text) }
    func onBinary(_ socket: WebSocket<String>, _ data: [UInt8]) { pubsub.publish(socket.userData, binary: data) }
}

// The bench client sends no Origin and needs 16 MiB messages (PROTOCOL.md).
let benchSocket = WebSocketConfiguration(origins: .any, maxMessageSize: 16 << 20, maxQueuedBytes: 64 << 20)
switchboard.webSocket("/echo", configuration: benchSocket, handler: Echo())
switchboard.webSocket("/topic/:name", configuration: benchSocket, handler: TopicMember(pubsub: switchboard.pubsub))

let router = Hummingbird.Router()
router.get("/health") { _, _ in "ok" }
router.post("/publish/:name") { request, context -> String in
    let body = try await request.body.collect(upTo: 16 << 20)
    switchboard.pubsub.publish(context.parameters.get("name") ?? "", binary: Array(buffer: body))
    return "ok"
}
router.switchboard("/echo", to: switchboard)
router.switchboard("/topic/:name", to: switchboard)

let app = Application(
    router: router,
    server: .http1(handingOffTo: switchboard),
    configuration: .init(address: .hostname("127.0.0.1", port: port)),
    services: [switchboard]
)
try await app.runService()
