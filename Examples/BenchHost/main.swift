// BenchHost: the server the bench harness (its load client and PROTOCOL.md)
// drives.
//
//   PORT=9000 swift run -c release BenchHost
//
// GET /health answers "ok"; /echo echoes every WebSocket message;
// /topic/NAME subscribes to NAME and publishes what it receives there;
// POST /publish/NAME publishes its body to NAME as one binary message.
// REDIS_URL=redis://HOST:PORT joins the other nodes sharing that Redis
// (Benchmarks/redis-fanout.sh). /pubsub speaks the client protocol;
// HISTORY=1 keeps history (the defaults) for every topic
// (Benchmarks/recovery-load.py).
import Foundation
import Switchboard
import SwitchboardRedis

let environment = ProcessInfo.processInfo.environment
let port = environment["PORT"].flatMap(Int.init) ?? 9000
// DISTRIBUTION=singleAcceptor compares the two ways of spreading connections.
let distribution: ConnectionDistribution = environment["DISTRIBUTION"] == "singleAcceptor" ? .singleAcceptor : .reusePort
// LOOPS sets the number of event loops (default: the library's, one per core but one).
let loopCount = environment["LOOPS"].flatMap(Int.init) ?? System.defaultLoopCount
let backplane: RedisBackplane?
do {
    backplane = try RedisBackplane.fromEnvironment()
} catch {
    FileHandle.standardError.write(Data("BenchHost: REDIS_URL: \(error)\n".utf8))
    exit(1)
}
// PROTOCOL.md: messages up to 16 MiB, also as POST /publish bodies.
let http = HTTPConfiguration(limits: HTTPParserLimits(maxBodySize: 16 << 20))
let history = TopicHistory(rules: environment["HISTORY"] == "1" ? [.prefix("")] : [])
let server = Server(configuration: ServerConfiguration(
    host: "127.0.0.1", port: port, loopCount: loopCount, distribution: distribution, http: http,
    history: history, backplane: backplane))

server.router.get("/health") { _ in .text("ok") }
// METRICS=prometheus: the cost of a metrics backend (Docs/Performance.md).
if environment["METRICS"] == "prometheus" { servePrometheusMetrics(on: server.router) }

/// Sends every message back unchanged, with its opcode, from the lent
/// bytes: no copy into a String or an array on the way.
struct Echo: WebSocketHandler {
    func onMessage(_ socket: WebSocket<Void>, _ bytes: RawSpan, isText: Bool) {
        if isText { socket.send(utf8Text: bytes) } else { socket.send(binary: bytes) }
    }
}

// The bench client sends no Origin and needs 16 MiB messages (PROTOCOL.md).
// permessage-deflate is accepted when a client offers it (the bench client
// does not); DEFLATE=takeover keeps each connection's compression context.
let compression = WebSocketCompression(contextTakeover: environment["DEFLATE"] == "takeover")
let benchSocket = WebSocketConfiguration(
    origins: .any, maxMessageSize: 16 << 20, maxQueuedBytes: 64 << 20, compression: compression
)
server.webSocket("/echo", configuration: benchSocket, handler: Echo())

/// Subscribes each connection to its topic; every message it sends is
/// published to that topic, the sender included, opcode kept.
struct TopicMember: WebSocketHandler {
    let pubsub: PubSub
    func authenticate(_ request: Request) throws -> String { request.parameters["name"] ?? "" }
    func onOpen(_ socket: WebSocket<String>) { socket.subscribe(socket.userData) }
    func onText(_ socket: WebSocket<String>, _ text: String) { pubsub.publish(socket.userData, text: text) }
    func onBinary(_ socket: WebSocket<String>, _ data: [UInt8]) { pubsub.publish(socket.userData, binary: data) }
}

server.webSocket("/topic/:name", configuration: benchSocket, handler: TopicMember(pubsub: server.pubsub))
server.pubsubEndpoint("/pubsub", configuration: WebSocketConfiguration(origins: .any), authorizer: PubSubAuthorizer(), publishRateLimit: nil)
server.router.post("/publish/:name") { request in
    server.pubsub.publish(request.parameters["name"] ?? "", binary: request.body)
    return .text("ok")
}

do {
    try server.runUntilTerminated()
} catch {
    FileHandle.standardError.write(Data("BenchHost: \(error)\n".utf8))
    exit(1)
}
