import Foundation
import Testing
import SwitchboardSync
import TestSupport
@testable import Switchboard

/// The live dashboard: closed to whoever `authorize` refuses, and in a
/// real browser, charting what the server does as it does it.
@Suite("Dashboard")
struct DashboardTests {
    static func server() throws -> (Server, Int) {
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2))
        server.webSocket("/topic", configuration: WebSocketConfiguration(origins: .any), handler: TopicHandler(pubsub: server.pubsub))
        server.dashboard(at: "/admin/dashboard") { $0.queryValue("key") == "let-me-in" }
        return (server, try server.start().port)
    }

    @Test func refusedRequestsFindNothing() async throws {
        let (server, port) = try Self.server()
        defer { try? server.stop() }
        let statuses = try await onOwnThread { () throws -> [Int] in
            var statuses: [Int] = []
            for path in ["/admin/dashboard", "/admin/dashboard/history", "/admin/dashboard?key=wrong"] {
                statuses.append(try TestSocket(port: port).get(path).status)
            }
            statuses.append(try TestWebSocket.handshake(try TestSocket(port: port), path: "/admin/dashboard/live").status)
            statuses.append(try TestSocket(port: port).get("/admin/dashboard?key=let-me-in").status)
            return statuses
        }
        #expect(statuses == [404, 404, 404, 404, 200])
    }

    @Test(.enabled(if: Chromium.isInstalled, "needs \(Chromium.path)"), .timeLimit(.minutes(1)))
    func aBrowserChartsConnectionsMessagesAndTheBusiestTopicLive() async throws {
        let (server, port) = try Self.server()
        defer { try? server.stop() }
        // Traffic: 30 subscribers of "news", 10 of "sport", a publish every 50 ms.
        let clients = try await onOwnThread {
            try (0..<30).map { _ in try TestWebSocket(port: port, path: "/topic?topic=news") }
                + (0..<10).map { _ in try TestWebSocket(port: port, path: "/topic?topic=sport") }
        }
        // On a thread of its own: as a task on the concurrency pool it was
        // starved beside the whole suite under AddressSanitizer (one publish
        // a second in the last sample, the test waiting for more than five).
        let publishing = Locked(true)
        Thread.detachNewThread {
            while publishing.withLock({ $0 }) {
                server.pubsub.publish("news", text: "headline")
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        defer { publishing.withLock { $0 = false } }
        let browser = try InspectedChromium(url: "http://127.0.0.1:\(port)/admin/dashboard?key=let-me-in", arguments: ["--window-size=1280,900"])
        defer { browser.kill() }
        let latest = #"JSON.stringify(window.dashboard && window.dashboard.live ? window.dashboard.samples[window.dashboard.samples.length - 1] || null : null)"#
        var sample: [String: Any] = [:]
        var shown = false
        let deadline = ContinuousClock.now + .seconds(20)
        while !shown, ContinuousClock.now < deadline {
            if let text = try? browser.evaluate(latest),
               let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
                sample = object
                // A few seconds of samples, so the charts have lines.
                let count = Int((try? browser.evaluate("String(window.dashboard.samples.length)")) ?? "") ?? 0
                shown = count >= 4 && (object["connections"] as? Int ?? 0) >= 40 && (object["deliveries"] as? Double ?? 0) > 100
                    && (object["publishes"] as? Double ?? 0) > 5
            }
            if !shown { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(shown, "last sample: \(sample); \(browser.logTail)")
        let topics = (sample["topics"] as? [[String: Any]])?.compactMap { $0["topic"] as? String } ?? []
        #expect(topics.first == "news" && topics.contains("sport"), "\(topics)")
        #expect((sample["loops"] as? [Any])?.count == 2)
        // What the charts show, for a person to look at.
        let path = ProcessInfo.processInfo.environment["DASHBOARD_SCREENSHOT"] ?? NSTemporaryDirectory() + "switchboard-dashboard.png"
        let png = try browser.screenshot()
        try png.write(to: URL(fileURLWithPath: path))
        #expect(png.count > 10_000)
        print("dashboard: screenshot at \(path) (\(png.count) bytes)")
        clients.forEach { $0.socket.close() }
    }
}
