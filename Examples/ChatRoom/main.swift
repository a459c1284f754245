// ChatRoom: a multi-room chat on one WebSocket route and the hub's topics.
//
//   swift run ChatRoom            # then open http://127.0.0.1:8080/
//   PORT=9000 swift run ChatRoom
//   REDIS_URL=redis://127.0.0.1:6379 PORT=8081 swift run ChatRoom   # one of several nodes
//
// With REDIS_URL, every node sharing that Redis is one chat: a member on
// one node talks with members on the others (README, "Scale out with Redis").
//
// GET / is the chat page, GET /health answers "ok", and /ws?name=…&room=…
// is the chat itself: each room is the topic "room.<name>" (Chat.swift).
import Foundation
import Switchboard
import SwitchboardRedis

let port = ProcessInfo.processInfo.environment["PORT"].flatMap(Int.init) ?? 8080
let backplane: RedisBackplane?
do {
    backplane = try RedisBackplane.fromEnvironment()
} catch {
    FileHandle.standardError.write(Data("ChatRoom: REDIS_URL: \(error)\n".utf8))
    exit(1)
}
let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: port, backplane: backplane))

server.router.get("/") { _ in .html(chatPage) }
server.router.get("/health") { _ in .text("ok") }
// Prometheus scrapes the server's metrics here (Docs/Operations.md).
servePrometheusMetrics(on: server.router)

// The page and the socket share one origin, so the default origin policy
// (same origin) is the right one. A person never types 16 KiB into a
// 500-character box: anything bigger is closed with 1009 before it is read.
server.webSocket("/ws", configuration: WebSocketConfiguration(maxMessageSize: 16 << 10), handler: Chat(pubsub: server.pubsub))

do {
    try server.runUntilTerminated()
} catch {
    FileHandle.standardError.write(Data("ChatRoom: \(error)\n".utf8))
    exit(1)
}
