import Foundation
import SwitchboardSync
import Testing
import TestSupport
@testable import Switchboard

private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let packageFolder = repository.appendingPathComponent("Clients/javascript")
private let typescriptFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients/typescript")

/// A server with history topics, the hosted client, and control routes a
/// client under test calls: publish numbered messages, cut a connection
/// from the server's side.
private final class RecoveryServer: Sendable {
    let server: Server
    let sockets = Locked<[String: WebSocket<String>]>([:])
    private let counters = Locked<[String: Int]>([:])
    let reports = PageReports()

    init(page: String = "") throws {
        server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2, history: TopicHistory(rules: [
            .prefix("h.", HistoryPolicy(maxMessages: 2_000, maxBytes: 1 << 20)),
            .prefix("small.", HistoryPolicy(maxMessages: 10)),
        ])))
        let sockets = self.sockets
        server.pubsubEndpoint("/pubsub", authorizer: PubSubAuthorizer<String>(
            authenticate: { $0.queryValue("name") ?? "anonymous" },
            canSubscribe: { socket, _ in
                sockets.withLock { $0[socket.userData] = socket }
                return true
            }), publishRateLimit: nil)
        server.router.clientScript(at: "/switchboard.js")
        server.router.get("/") { _ in .html(page) }
        server.router.post("/report") { [reports] request in
            reports.append(request.bodyText)
            return .status(.noContent)
        }
        server.router.get("/control/publish") { [self] request in
            guard let topic = request.queryValue("topic"), let count = request.queryValue("count").flatMap(Int.init) else {
                throw HTTPError(.badRequest)
            }
            return .text(String(publish(topic, count)))
        }
        server.router.get("/control/cut") { [self] request in
            cut(request.queryValue("name") ?? "")
            return .status(.noContent)
        }
        try server.start()
    }

    var port: Int { server.address!.port }

    /// Publishes the next `count` numbers of `topic` (1, 2, 3… per topic).
    @discardableResult
    func publish(_ topic: String, _ count: Int) -> Int {
        let range = counters.withLock { counters in
            let first = counters[topic, default: 0] + 1
            counters[topic] = first + count - 1
            return first...(first + count - 1)
        }
        for value in range { server.pubsub.publish(topic, json: String(value)) }
        return range.upperBound
    }

    func cut(_ name: String) {
        guard let socket = sockets.withLock({ $0[name] }) else { return }
        socket.connection.onLoop { $0.tcp.close() }
    }

    func stop() {
        try? server.stop()
        sockets.withLock { $0 = [:] }
    }
}

@Suite("JavaScript client package")
struct JavaScriptClientTests {
    @Test("The server hosts exactly the package's switchboard.js")
    func hostedScriptIsThePackagesFile() throws {
        let file = try String(contentsOf: packageFolder.appendingPathComponent("switchboard.js"), encoding: .utf8)
        #expect(ClientScript.source == file)
    }

    @Test("TypeScript (tsc --strict) accepts a program using the whole declared API and refuses its misuses")
    func typeDeclarations() async throws {
        try await onOwnThread { () throws -> Void in Self.checkTypes() }
    }

    private static func checkTypes() {
        for (file, libraries) in [("module-usage.ts", "es2020,dom"), ("script-usage.ts", "es2020,dom")] {
            let result = (try? runClient([
                "tsc", "--noEmit", "--strict", "--target", "es2020", "--module", "es2020", "--moduleResolution", "node",
                "--lib", libraries, typescriptFolder.appendingPathComponent(file).path,
            ])) ?? (status: -1, output: "tsc did not run")
            #expect(result.status == 0, "\(file): \(result.output)")
        }
    }

    @Test("Node, through the ES module: a server-side cut and a client-side close while messages flow, then too_far", .timeLimit(.minutes(1)))
    func nodeRecovers() async throws {
        try await onOwnThread { () throws -> Void in try Self.runNodeRecovery() }
    }

    private static func runNodeRecovery() throws {
        let server = try RecoveryServer()
        defer { server.stop() }
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-recovery-\(UUID().uuidString).mjs")
        try nodeScript.replacingOccurrences(of: "PACKAGE", with: packageFolder.appendingPathComponent("index.js").path)
            .write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let result = try runClient(["node", "--experimental-websocket", "--no-warnings", script.path, "127.0.0.1:\(server.port)"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("recovery: all checks passed"), "\(result.output)")
    }

    static let nodeScript = #"""
    import { Client } from "PACKAGE";

    const base = "http://" + process.argv[2];
    const fail = (message) => { console.error(message); process.exit(1); };
    const check = (ok, message) => { if (!ok) fail(message); };
    const until = async (condition, what) => {
      const deadline = Date.now() + 15000;
      while (!condition()) {
        if (Date.now() > deadline) fail("timed out waiting for " + what);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const control = async (path) => (await fetch(base + "/control/" + path)).text();
    const inOrder = (list, count) => list.length === count && list.every((value, index) => value === index + 1);

    const client = new Client("ws://" + process.argv[2] + "/pubsub?name=node", { minBackoff: 20, maxBackoff: 100 });
    const seen = [], states = [], unrecovered = [], small = [];
    client.on("state", (state) => states.push(state));
    client.on("unrecovered", (event) => unrecovered.push(event));
    client.subscribe("h.feed", (data) => seen.push(data));
    await new Promise((resolve) => client.on("subscribed", resolve));
    check(client.position("h.feed").offset === 0, "position " + JSON.stringify(client.position("h.feed")));

    await control("publish?topic=h.feed&count=100");
    await until(() => seen.length >= 100, "the first 100");
    // Cut by the server, then 500 published while the client is away or reconnecting.
    await control("cut?name=node");
    await control("publish?topic=h.feed&count=500");
    await until(() => seen.length >= 600 && client.state === "open", "600 after the cut");
    // Closed by the client itself while 300 more are published.
    client._socket.close();
    await control("publish?topic=h.feed&count=300");
    await until(() => seen.length >= 900, "900 after the close");
    await new Promise((resolve) => setTimeout(resolve, 100));
    check(inOrder(seen, 900), "not 1...900 once each: " + seen.length + " " + JSON.stringify(seen.filter((value, index) => value !== index + 1).slice(0, 10)));
    check(client.position("h.feed").offset === 900, "position " + JSON.stringify(client.position("h.feed")));
    check(states.filter((state) => state === "reconnecting").length === 2, "states " + states);
    check(unrecovered.length === 0, "unrecovered " + JSON.stringify(unrecovered));

    // More missed than a ring of 10 holds: the app is told, and goes on live.
    client.subscribe("small.t", (data) => small.push(data));
    await until(() => client.position("small.t") !== undefined, "small.t's position");
    await control("cut?name=node");
    await control("publish?topic=small.t&count=25");
    await until(() => unrecovered.length === 1, "unrecovered");
    check(unrecovered[0].topic === "small.t" && unrecovered[0].reason === "too_far", JSON.stringify(unrecovered));
    check(small.length <= 25, "small " + small.length);
    const before = small.length;
    await control("publish?topic=small.t&count=1");
    await until(() => small.length === before + 1, "the live message after too_far");
    check(small[small.length - 1] === 26, "small " + JSON.stringify(small));
    client.close();
    console.log("recovery: all checks passed");
    process.exit(0);
    """#

    /// The page counts what it receives on h.page and reports every 100th
    /// message, its state changes, and at `n` the whole list.
    static let page = #"""
    <!doctype html>
    <meta charset="utf-8">
    <title>Switchboard recovery test</title>
    <script src="/switchboard.js"></script>
    <script>
      const n = Number(new URLSearchParams(location.search).get("n"));
      let seq = 0;
      const report = (event) => fetch("/report", { method: "POST", body: JSON.stringify({ seq: ++seq, ...event }) });
      const client = new Switchboard.Client("/pubsub?name=chromium", { minBackoff: 20, maxBackoff: 100 });
      const seen = [];
      client.on("state", (state) => report({ event: "state", state }));
      client.on("unrecovered", (event) => report({ event: "unrecovered", ...event }));
      client.on("subscribed", (topic) => report({ event: "subscribed", topic }));
      client.subscribe("h.page", (data) => {
        seen.push(data);
        if (seen.length % 100 === 0) report({ event: "count", count: seen.length });
        if (seen.length === n) report({ event: "done", seen });
      });
    </script>
    """#

    @Test("Chromium: the page's connection is cut mid-stream; it reconnects and shows every message once",
          .enabled(if: Chromium.isInstalled, "needs \(Chromium.path)"), .timeLimit(.minutes(1)))
    func chromiumRecovers() async throws {
        try await onOwnThread { () throws -> Void in try Self.runChromiumRecovery() }
    }

    private static func runChromiumRecovery() throws {
        let server = try RecoveryServer(page: page)
        defer { server.stop() }
        let browser = try Chromium(url: "http://127.0.0.1:\(server.port)/?n=600")
        defer { browser.kill() }
        let reports = server.reports
        func context() -> Comment { "reports:\n\(reports.text.prefix(3000))\nchromium:\n\(browser.logTail)" }
        func count() -> Int { reports.all.compactMap { $0["count"] as? Int }.max() ?? 0 }

        try #require(eventually(seconds: 20) { reports.contains { $0["event"] as? String == "subscribed" } }, context())
        // A stream that goes on while the page drops: cut after 200, then 400 more.
        server.publish("h.page", 200)
        try #require(eventually(seconds: 10) { count() >= 200 }, context())
        server.cut("chromium")
        for _ in 0..<40 {
            server.publish("h.page", 10)
            Thread.sleep(forTimeInterval: 0.005)
        }
        try #require(eventually(seconds: 15) { reports.contains { $0["event"] as? String == "done" } }, context())
        let done = try #require(reports.all.first { $0["event"] as? String == "done" })
        #expect(done["seen"] as? [Int] == Array(1...600), context())
        let states = reports.all.filter { $0["event"] as? String == "state" }.compactMap { $0["state"] as? String }
        #expect(states == ["open", "reconnecting", "open"], context())
        #expect(!reports.contains { $0["event"] as? String == "unrecovered" }, context())
    }
}
