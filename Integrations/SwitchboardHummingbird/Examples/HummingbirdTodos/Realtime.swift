// REAL-TIME: what Switchboard adds to the app, in a file of its own (both
// libraries name a Router and a Request; this file is the only one that
// imports Switchboard).
import Foundation
import Switchboard

/// The app's Switchboard server: the client protocol at /realtime,
/// read-only, topic "todos" only. It has no listener of its own; the app's
/// HTTP server hands it the upgrades (main.swift).
let switchboard: Server = {
    let server = Server()
    server.pubsubEndpoint("/realtime", authorizer: PubSubAuthorizer<Void>(
        authenticate: { _ in },                         // anyone may watch (check a session here)
        canSubscribe: { _, topic in topic == "todos" },  // anything else: error "forbidden"
        canPublish: { _, _ in false }                    // changes come through the API only
    ))
    return server
}()

/// Sends a change to everyone following topic "todos".
func publish(_ event: TodoEvent) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let json = try? encoder.encode(event) else { return }
    switchboard.pubsub.publish("todos", json: String(decoding: json, as: UTF8.self))
}
