import Foundation
import Metrics
import MetricsTestKit
import Testing
import TestSupport
@testable import Switchboard
import SwitchboardWire

/// Every instrument of Docs/Operations.md's table, fed by a real server
/// over real sockets: connect, message, publish, slow consumer, refusal,
/// close.
@Suite("Metrics")
struct MetricsTests {
    @Test func aScenarioMovesEveryMetricInTheTable() async throws {
        let metrics = TestMetricsBackend.shared
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 2, metricsInterval: .milliseconds(20)))
        let open = WebSocketConfiguration(origins: .allowList(["https://app.example"]), pingInterval: nil)
        // The recorder keeps each open socket (and so its server) until released.
        let recorder = Recorder()
        server.webSocket("/metrics-test/echo", configuration: open, handler: EchoHandler(recorder: recorder))
        server.webSocket("/metrics-test/drop/:name", configuration: WebSocketConfiguration(
            origins: .any, pingInterval: nil, maxQueuedBytes: 64 * 1024, slowConsumerPolicy: .drop), handler: PublishingMember(pubsub: server.pubsub))
        server.webSocket("/metrics-test/close/:name", configuration: WebSocketConfiguration(
            origins: .any, pingInterval: nil, maxQueuedBytes: 64 * 1024, slowConsumerPolicy: .close, closeTimeout: .milliseconds(200)), handler: PublishingMember(pubsub: server.pubsub))
        server.router.get("/metrics-test/health") { _ in .text("ok") }
        let port = try server.start().port
        defer { try? server.stop(); recorder.releaseSockets() }
        let echo = [("route", "/metrics-test/echo")]
        let drop = [("route", "/metrics-test/drop/:name")]
        let close = [("route", "/metrics-test/close/:name")]

        // Plain HTTP (2xx, and a 404), a refused upgrade (403), an echo
        // connection with three messages that closes normally.
        let publishes = metrics.counterTotal(label: "switchboard_publishes_total")
        try await onOwnThread {
            let http = try TestSocket(port: port)
            #expect(try http.exchange("GET /metrics-test/health HTTP/1.1\r\nHost: t\r\n\r\n").status == 200)
            #expect(try http.exchange("GET /metrics-test/none HTTP/1.1\r\nHost: t\r\n\r\n").status == 404)
            #expect(try TestWebSocket.handshake(try TestSocket(port: port), path: "/metrics-test/echo", headers: ["Origin: https://evil.example"]).status == 403)
        }
        let client = try await onOwnThread {
            try TestWebSocket(port: port, path: "/metrics-test/echo?user=m", headers: ["Origin: https://app.example"])
        }
        // The open connection is reported (the gauge goes up, and must come
        // down again in a later report, not in the same one).
        #expect(await eventually(seconds: 5) { (try? metrics.expectMeter("switchboard_websocket_connections", echo))?.lastValue == 1 })
        try await onOwnThread {
            for text in ["one", "two", "six"] {
                try client.send(text: text)
                #expect(try client.receiveNonPing().text == text)
            }
            try client.send(opcode: .close, [0x03, 0xE8])
            #expect(try client.receiveNonPing().closeCode == 1000)
        }
        // Slow consumers that never read: 64 KiB messages past a 64 KiB
        // queue are dropped on one route, and close the other's connection.
        let slow = try await onOwnThread {
            try [TestWebSocket(port: port, path: "/metrics-test/drop/m", receiveBufferSize: 4096),
                 TestWebSocket(port: port, path: "/metrics-test/close/m", receiveBufferSize: 4096)]
        }
        for _ in 0..<40 { server.pubsub.publish("m", binary: [UInt8](repeating: 7, count: 64 * 1024)) }

        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Int64 {
            metrics.counterTotal(label: label, dimensions: dimensions)
        }
        let reported = await eventually(seconds: 10) {
            counter("switchboard_websocket_connections_opened_total", echo) == 1
                && counter("switchboard_websocket_connections_closed_total", echo + [("close", "normal")]) == 1
                && counter("switchboard_websocket_messages_received_total", echo) == 3
                && counter("switchboard_websocket_received_bytes_total", echo) == 9
                && counter("switchboard_websocket_messages_sent_total", echo) == 3
                && counter("switchboard_websocket_sent_bytes_total", echo) == 15
                && counter("switchboard_upgrades_refused_total", [("status", "403")]) >= 1
                && counter("switchboard_slow_consumer_drops_total", drop) > 0
                && counter("switchboard_slow_consumer_closes_total", close) == 1
                && counter("switchboard_websocket_connections_closed_total", close + [("close", "policy_violation")]) == 1
                && metrics.counterTotal(label: "switchboard_publishes_total") - publishes >= 40
                && counter("switchboard_deliveries_total") >= 80
        }
        #expect(reported, "\(metrics.counters.filter { $0.label.hasPrefix("switchboard") }.map { "\($0.label) \($0.dimensions) \($0.totalValue)" })")
        // The health route's 200; the 404 and the refused upgrade, which no
        // route answered (waited for: the loop may be mid-report).
        #expect(await eventually(seconds: 5) {
            counter("switchboard_http_responses_total", [("route", "/metrics-test/health"), ("status_class", "2xx")]) == 1
                && counter("switchboard_http_responses_total", [("route", ""), ("status_class", "4xx")]) >= 2
        })
        // The open-connections gauge: the echo client is gone, the dropping one is still there.
        let openEcho = try metrics.expectMeter("switchboard_websocket_connections", echo)
        let openDrop = try metrics.expectMeter("switchboard_websocket_connections", drop)
        // Down again (reported on the loop while this thread reads: waited for).
        #expect(await eventually(seconds: 5) { openEcho.lastValue == 0 })
        #expect(await eventually(seconds: 5) { (try? metrics.expectMeter("switchboard_websocket_connections", drop))?.lastValue == 1 })
        _ = openDrop
        #expect(try metrics.expectGauge("switchboard_topics").lastValue != nil)
        #expect(try metrics.expectGauge("switchboard_queued_bytes", [("loop", "0")]).lastValue != nil)
        slow.forEach { $0.socket.close() }
    }
}
