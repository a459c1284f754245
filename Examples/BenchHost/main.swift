// BenchHost: the server ../shared/bench drives, speaking its PROTOCOL.md.
//
//   PORT=9000 swift run -c release BenchHost
//
// GET /health answers "ok". The WebSocket routes (/echo, /topic/NAME) and
// POST /publish/NAME arrive with the WebSocket and hub layers.
import Foundation
import Switchboard

let environment = ProcessInfo.processInfo.environment
let port = environment["PORT"].flatMap(Int.init) ?? 9000
// DISTRIBUTION=singleAcceptor compares the two ways of spreading connections.
let distribution: ConnectionDistribution = environment["DISTRIBUTION"] == "singleAcceptor" ? .singleAcceptor : .reusePort
let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: port, distribution: distribution))

server.router.get("/health") { _ in .text("ok") }

do {
    try server.runUntilTerminated()
} catch {
    FileHandle.standardError.write(Data("BenchHost: \(error)\n".utf8))
    exit(1)
}
