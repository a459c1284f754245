import TestSupport
import Foundation
import Testing
@testable import Switchboard

/// permessage-deflate with a real browser: headless Chromium offers it,
/// compresses what it sends and inflates what it receives.
@Suite("permessage-deflate in Chromium")
struct CompressionBrowserTests {
    /// Echoes a series of messages through a compressing route and POSTs
    /// the outcome to /report.
    static let page = #"""
    <!doctype html>
    <meta charset="utf-8">
    <title>compression test</title>
    <script>
      const report = (result) => fetch("/report", { method: "POST", body: JSON.stringify(result) });
      const ws = new WebSocket(`ws://${location.host}/z`);
      ws.binaryType = "arraybuffer";
      const messages = [];
      for (let seq = 0; seq < 30; seq++) {
        messages.push(JSON.stringify({ seq, symbol: "ACME", prices: Array(60 + seq).fill(seq * 1.5) }));
      }
      messages.push("ünïcødé ✓ ".repeat(2000), "z".repeat(300000));
      let index = 0;
      ws.onopen = () => ws.send(messages[0]);
      ws.onmessage = (event) => {
        if (event.data !== messages[index]) return report({ ok: false, index, extensions: ws.extensions });
        index += 1;
        if (index < messages.length) return ws.send(messages[index]);
        report({ ok: true, echoed: index, extensions: ws.extensions });
      };
      ws.onerror = () => report({ ok: false, error: "socket error" });
    </script>
    """#

    @Test(.enabled(if: Chromium.isInstalled, "needs \(Chromium.path)"), .timeLimit(.minutes(1)))
    func chromiumRoundTrips() throws {
        let reports = PageReports()
        let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, loopCount: 1))
        server.router.webSocket("/z", configuration: WebSocketConfiguration(compression: .perMessageDeflate), handler: Echo())
        server.router.get("/") { _ in .html(Self.page) }
        server.router.post("/report") { request in
            // PageReports keys reports by "seq"; this page sends one.
            reports.append(#"{"seq":1,"# + request.bodyText.dropFirst())
            return .status(.noContent)
        }
        let port = try server.start().port
        defer { try? server.stop() }
        let browser = try Chromium(url: "http://127.0.0.1:\(port)/")
        defer { browser.kill() }
        let arrived = eventually(seconds: 30) { !reports.all.isEmpty || !browser.isRunning }
        let report = try #require(reports.all.first, "no report: \(arrived)\n\(browser.logTail)")
        #expect(report["ok"] as? Bool == true, "\(report)")
        #expect(report["echoed"] as? Int == 32)
        #expect(report["extensions"] as? String == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        // Chromium compressed all it sent, and every reply (each over 128 bytes) was compressed.
        #expect(server.loopContexts![0].deflate.inflations.load(ordering: .relaxed) == 32)
        #expect(server.loopContexts![0].deflate.compressions.load(ordering: .relaxed) == 32)
    }

    struct Echo: WebSocketHandler {
        func onText(_ socket: WebSocket<Void>, _ text: String) { socket.send(text: text) }
    }
}
