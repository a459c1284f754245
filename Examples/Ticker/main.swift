// Ticker: live prices in the browser, published from application code.
//
//   swift run Ticker                  # then open http://127.0.0.1:8080/
//   PORT=9000 swift run Ticker
//
// A service of the application's own (PriceFeed.swift) publishes a made-up
// price for each symbol to `ticks.SYMBOL` four times a second; it and the
// server run side by side in one swift-service-lifecycle `ServiceGroup`,
// which stops both on SIGTERM or SIGINT (WebSocket clients get 1001). The page
// (Page.swift) subscribes with the hosted JavaScript client and draws the
// symbols you pick. Other services push events with a JSON body:
//
//   curl -d '{"headline":"Markets open"}' 127.0.0.1:8080/publish/events.news
//
// The server keeps the last 120 ticks of each symbol (30 s) and the last 50
// events: a chart starts full (GET /history, then the subscription goes on
// from where that ends), and a page that lost its connection gets the ticks
// and headlines it missed.
import Foundation
import Logging
import ServiceLifecycle
import Switchboard

let port = ProcessInfo.processInfo.environment["PORT"].flatMap(Int.init) ?? 8080
let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: port, history: TopicHistory(rules: [
    .prefix("ticks.", HistoryPolicy(maxMessages: 120, retention: .seconds(60))),
    .prefix("events.", HistoryPolicy(maxMessages: 50, retention: .seconds(3600))),
])))

/// The feeds this server offers: browsers may read them, and only this
/// process (its feed thread and POST /publish) writes to them.
func isFeed(_ topic: String) -> Bool {
    topic.hasPrefix("ticks.") || topic.hasPrefix("events.")
}

server.pubsubEndpoint("/prices", authorizer: PubSubAuthorizer<Void>(
    authenticate: { _ in },                      // anyone may watch
    canSubscribe: { _, topic in isFeed(topic) },  // anything else: error "forbidden"
    canPublish: { _, _ in false }                 // read-only for browsers
))
server.router.clientScript(at: "/switchboard.js")
// GET /history?topic=ticks.AAPL&limit=120: what a chart starts with.
server.historyRoute(at: "/history") { _, topic in isFeed(topic) }
server.router.get("/") { _ in .html(page) }
server.router.get("/health") { _ in .text("ok") }
// Prometheus scrapes the server's metrics here (Docs/Operations.md).
servePrometheusMetrics(on: server.router)

// Another service pushes an event: POST /publish/events.NAME (or
// ticks.SYMBOL) with any JSON value as the body. Answers how many
// subscribers it reached.
server.router.post("/publish/:topic") { request in
    let topic = request.parameters["topic"] ?? ""
    guard isFeed(topic) else { throw HTTPError(.forbidden, "only events.* and ticks.* topics") }
    guard let value = try? JSONSerialization.jsonObject(with: Data(request.body), options: .fragmentsAllowed) else {
        throw HTTPError(.badRequest, "the body must be JSON")
    }
    // Encoded again, so subscribers always get UTF-8 JSON whatever encoding came in.
    let json = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
    let subscribers = server.pubsub.publish(topic, json: String(decoding: json, as: UTF8.self))
    return .json(#"{"subscribers":\#(subscribers)}"#)
}

let group = ServiceGroup(
    services: [server, PriceFeed(symbols: symbols, ticksPerSecond: 4, pubsub: server.pubsub)],
    gracefulShutdownSignals: [.sigterm, .sigint],
    logger: Logger(label: "ticker")
)
do {
    try await group.run()
} catch {
    FileHandle.standardError.write(Data("Ticker: \(error)\n".utf8))
    exit(1)
}
