import HTTPTypes

/// The browser client of the pub/sub endpoint's JSON protocol
/// (Docs/client-protocol.md): `Clients/javascript/switchboard.js`, compiled
/// in so a deployed binary needs no resource bundle (the same file is the
/// body of the `switchboard-client` ES module for bundled front ends).
/// Serve it with `Router.clientScript(at:)`, or with the host's own HTTP
/// server when Switchboard has no listener of its own.
///
/// ```js
/// const client = new Switchboard.Client("/pubsub")
/// const stop = client.subscribe("prices", (data, topic) => render(data))
/// await client.publish("chat", { text: "hi" })   // resolves with { subscribers }
/// client.on("state", (state) => badge(state))     // connecting, open, reconnecting, closed
/// client.on("subscribed", (topic) => load())      // the server has it (after each reconnect too)
/// ```
///
/// It reconnects by itself (exponential backoff with full jitter, options
/// `minBackoff` and `maxBackoff` in ms), subscribes again after every
/// reconnect (on history topics from the last message it handled, so
/// nothing is missed or repeated; event `unrecovered` when that cannot
/// be), and rejects a publish that gets no reply within `requestTimeout`
/// ms or whose connection drops first.
public enum ClientScript {
    /// The script (JavaScript), to send as `text/javascript; charset=utf-8`.
    public static let source = String(decoding: PackageResources.switchboard_js, as: UTF8.self)
}

extension Router {
    /// Serves the dependency-free JavaScript client at `path` (e.g.
    /// `"/switchboard.js"`), to load with a classic `<script>`. Sent with
    /// `Cache-Control: no-cache`: browsers fetch it again on each page
    /// load, so a server upgrade never leaves pages running an old client
    /// against a new server.
    public func clientScript(at path: String) {
        let body = Array(ClientScript.source.utf8)
        get(path) { _ in
            Response(status: .ok, headerFields: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"], body: body)
        }
    }
}
