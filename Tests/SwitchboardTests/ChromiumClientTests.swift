import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Switchboard
import SwitchboardSync

/// The hosted JavaScript client (`Router.clientScript(at:)`) against a real
/// server: in a real headless Chromium across a real server restart, and in
/// Node.
@Suite("Browser client")
struct ChromiumClientTests {
    /// Loads the client, subscribes, and POSTs everything it sees to
    /// /report: the test reads the page without a DOM or a debugging
    /// protocol. Reports are sent one at a time, in order, and retried while
    /// the server restarts; each carries a sequence number so a retry that
    /// did arrive counts once.
    static let page = #"""
    <!doctype html>
    <meta charset="utf-8">
    <title>Switchboard client test</title>
    <script src="/switchboard.js"></script>
    <script>
      const queue = [];
      let seq = 0, sending = false;
      const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      async function report(event) {
        queue.push(JSON.stringify({ seq: ++seq, ...event }));
        if (sending) return;
        sending = true;
        while (queue.length > 0) {
          try {
            if ((await fetch("/report", { method: "POST", body: queue[0] })).ok) queue.shift();
            else await pause(100);
          } catch (_) {
            await pause(100);
          }
        }
        sending = false;
      }

      const client = new Switchboard.Client("/pubsub?user=chromium", { minBackoff: 100, maxBackoff: 1000 });
      client.on("state", (state) => report({ event: "state", state }));
      client.on("close", ({ code }) => report({ event: "close", code }));
      client.on("error", ({ code, topic }) => report({ event: "error", code, topic }));
      client.subscribe("news", (data, topic) => {
        report({ event: "news", topic, data });
        // Publish it back: the ack says how many it reached (this page).
        client.publish("echo", data).then(
          ({ subscribers }) => report({ event: "published", n: data.n, subscribers }),
          ({ code }) => report({ event: "published", n: data.n, failed: code }));
      });
      client.subscribe("echo", (data) => report({ event: "echo", data }));
      client.subscribe("secret", () => report({ event: "leak" }));
    </script>
    """#

    static func startServer(port: Int, reports: PageReports) throws -> Server {
        let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: port, loopCount: 2))
        // Default origin policy (same origin): the page and the socket share
        // http://127.0.0.1:port, as in a real deployment.
        server.pubsubEndpoint("/pubsub", authorizer: PubSubAuthorizer<String>(
            authenticate: { request in request.queryValue("user") ?? "guest" },
            canSubscribe: { _, topic in topic != "secret" }
        ))
        server.router.clientScript(at: "/switchboard.js")
        server.router.get("/") { _ in .html(page) }
        server.router.post("/report") { request in
            reports.append(request.bodyText)
            return .status(.noContent)
        }
        try server.start()
        return server
    }

    @Test(.enabled(if: Chromium.isInstalled, "needs \(Chromium.path)"), .timeLimit(.minutes(1)))
    func chromiumReceivesAndResubscribesAcrossAServerRestart() throws {
        let reports = PageReports()
        // Port 0 the first time; the restarted server takes the same port.
        var server = try Self.startServer(port: 0, reports: reports)
        defer { try? server.stop() }
        let port = try #require(server.address?.port)
        let browser = try Chromium(url: "http://127.0.0.1:\(port)/")
        defer { browser.kill() }
        func context() -> Comment { "reports:\n\(reports.text)\nchromium:\n\(browser.logTail)" }
        func sawNews(_ n: Int) -> Bool {
            reports.contains { $0["event"] as? String == "news" && ($0["data"] as? [String: Any])?["n"] as? Int == n }
                && reports.contains { $0["event"] as? String == "published" && $0["n"] as? Int == n }
                && reports.contains { $0["event"] as? String == "echo" && ($0["data"] as? [String: Any])?["n"] as? Int == n }
        }

        try #require(eventually(seconds: 20) { server.pubsub.subscriberCount(of: "news") == 1 || !browser.isRunning }, context())
        try #require(browser.isRunning, context())
        #expect(server.pubsub.publish("news", json: #"{"n":1}"#) == 1)
        try #require(eventually(seconds: 10) { sawNews(1) }, context())

        // A real restart: every connection is closed (1001), the port is
        // free for a moment, then a new server with empty topics binds it.
        try server.stop()
        server = try Self.startServer(port: port, reports: reports)
        try #require(eventually(seconds: 15) { server.pubsub.subscriberCount(of: "news") == 1 }, context())
        #expect(server.pubsub.publish("news", json: #"{"n":2}"#) == 1)
        try #require(eventually(seconds: 10) { sawNews(2) }, context())

        let all = reports.all
        let news = all.filter { $0["event"] as? String == "news" }
        #expect(news.compactMap { ($0["data"] as? [String: Any])?["n"] as? Int } == [1, 2], context())
        #expect(news.allSatisfy { $0["topic"] as? String == "news" })
        let published = all.filter { $0["event"] as? String == "published" }
        #expect(published.map { $0["subscribers"] as? Int } == [1, 1], context())
        #expect(all.filter { $0["event"] as? String == "state" }.map { $0["state"] as? String } == ["open", "reconnecting", "open"], context())
        #expect(all.contains { $0["event"] as? String == "close" && $0["code"] as? Int == 1001 }, context())
        // Refused on each connection: "secret" is subscribed again after the reconnect too.
        let refusals = all.filter { $0["event"] as? String == "error" }
        #expect(refusals.count == 2, context())
        #expect(refusals.allSatisfy { $0["code"] as? String == "forbidden" && $0["topic"] as? String == "secret" }, context())
        #expect(!all.contains { $0["event"] as? String == "leak" })
    }

    @Test func servesTheScript() throws {
        try withServer(routes: { $0.clientScript(at: "/switchboard.js") }) { _, port in
            let socket = try TestSocket(port: port)
            let response = try socket.exchange("GET /switchboard.js HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/javascript; charset=utf-8")
            #expect(response.header("cache-control") == "no-cache")
            #expect(response.bodyText == ClientScript.source)
        }
    }

    /// The same client in Node 20 (built-in WebSocket behind a flag), given
    /// an absolute URL: it must not need `location`.
    @Test func nodeClient() throws {
        let server = try Self.startServer(port: 0, reports: PageReports())
        defer { try? server.stop() }
        let port = try #require(server.address?.port)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-node-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = folder.appendingPathComponent("client-test.js")
        try (ClientScript.source + Self.nodeChecks).write(to: script, atomically: true, encoding: .utf8)
        let result = try runClient(["node", "--experimental-websocket", "--no-warnings", script.path, "ws://127.0.0.1:\(port)/pubsub?user=node"])
        #expect(result.status == 0, "\(result.output)")
    }

    static let nodeChecks = #"""

    // Checks of the client above; argv[2] is the endpoint's ws:// URL.
    const fail = (message) => { console.error(message); process.exit(1); };
    const check = (ok, message) => { if (!ok) fail(message); };
    const until = async (condition) => { while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5)); };
    setTimeout(() => fail("timed out"), 10000).unref();

    (async () => {
      check(typeof location === "undefined", "node has a location?");
      const client = new Switchboard.Client(process.argv[2], { requestTimeout: 3000 });
      check(client.state === "connecting", `state ${client.state}`);
      const messages = [], errors = [], states = [];
      client.on("error", (error) => errors.push(error));
      client.on("state", (state) => states.push(state));
      const stop = client.subscribe("news", (data, topic) => messages.push({ data, topic }));
      client.subscribe("secret", () => fail("message on a forbidden topic"));
      await new Promise((resolve) => client.on("open", resolve));

      const ack = await client.publish("news", { hello: "node" });
      check(ack.subscribers === 1, `subscribers ${ack.subscribers}`);
      await until(() => messages.length === 1 && errors.length === 1);
      check(JSON.stringify(messages[0]) === '{"data":{"hello":"node"},"topic":"news"}', JSON.stringify(messages));
      check(errors[0].code === "forbidden" && errors[0].topic === "secret", JSON.stringify(errors));

      const refused = await client.publish("", 1).then(() => null, (error) => error);
      check(refused instanceof Error && refused.code === "invalid_topic", `refusal ${refused && refused.code}`);
      stop();
      check((await client.publish("news", 2)).subscribers === 0, "still subscribed after unsubscribe");

      client.close();
      const late = await client.publish("news", 3).then(() => null, (error) => error);
      check(late && late.code === "not_connected", `after close ${late && late.code}`);
      check(states.join() === "open,closed", `states ${states}`);
      console.log("node client: all checks passed");
      process.exit(0);
    })().catch((error) => fail(error.stack));
    """#
}

/// What the test page reported: one JSON object per POST /report, kept
/// once per sequence number, in order.
final class PageReports: Sendable {
    private let bodies = Locked<[Int: String]>([:])

    func append(_ body: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let seq = object["seq"] as? Int else { return }
        bodies.withLock { $0[seq] = body }
    }

    var all: [[String: Any]] {
        bodies.withLock { $0.sorted { $0.key < $1.key }.map(\.value) }
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func contains(where predicate: ([String: Any]) -> Bool) -> Bool { all.contains(where: predicate) }

    var text: String { bodies.withLock { $0.sorted { $0.key < $1.key }.map(\.value).joined(separator: "\n") } }
}

