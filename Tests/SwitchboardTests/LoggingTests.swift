import Foundation
import Testing
import TestSupport
@testable import Switchboard
import SwitchboardWire

@Suite("Log rate limit")
struct LogRateLimitTests {
    @Test func atMostTheLimitEachSecondAndTheNextLineSaysHowManyWereLeftOut() {
        var limit = LogRateLimit(perSecond: 3)
        let first = (0..<10).map { _ in limit.admit(now: 5_000).allowed }
        #expect(first == [true, true, true] + Array(repeating: false, count: 7))
        // Later in the same second: still nothing.
        #expect(limit.admit(now: 5_999).allowed == false)
        // The next second: allowed again, and told of the 8 left out.
        #expect(limit.admit(now: 6_000) == (true, 8))
        #expect(limit.admit(now: 6_001) == (true, 0))
    }
}

/// Log lines about connections: who (connection id, peer, route), at a
/// level an attacker cannot flood, and never a secret.
@Suite("Connection log lines")
struct LoggingTests {
    struct Failing: Error {}

    @Test func refusalsProtocolErrorsAndFailuresAreLoggedWithTheConnectionAndNeverWithTheQuery() async throws {
        let log = CapturedLog()
        let recorder = Recorder()
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, logger: log.logger))
        server.webSocket("/ws/:room", configuration: WebSocketConfiguration(origins: .allowList(["https://app.example"])),
                         handler: EchoHandler(recorder: recorder))
        server.router.get("/fail") { _ in throw Failing() }
        let port = try server.start().port
        defer { try? server.stop(); recorder.releaseSockets() }
        let secret = "tok-5ecret-XYZ"
        try await onOwnThread {
            // A refused upgrade, a failing handler, and a protocol error
            // (an unmasked frame), each with a token in the query.
            #expect(try TestWebSocket.handshake(try TestSocket(port: port), path: "/ws/lobby?access_token=\(secret)",
                                                headers: ["Origin: https://evil.example"]).status == 403)
            #expect(try TestSocket(port: port).get("/fail?access_token=\(secret)").status == 500)
            let socket = try TestWebSocket(port: port, path: "/ws/lobby?access_token=\(secret)", headers: ["Origin: https://app.example"])
            try socket.send(opcode: .text, Array("unmasked".utf8), masked: false)
            #expect(try socket.receiveNonPing().closeCode == 1002)
        }
        let lines = log.lines
        let refused = lines.first { $0.contains("upgrade refused") }
        let failed = lines.first { $0.contains("handler failed") }
        let protocolError = lines.first { $0.contains("websocket protocol error") }
        #expect(refused?.contains("status=403") == true && refused?.contains("route=/ws/:room") == true, "\(lines)")
        #expect(failed?.hasPrefix("error") == true && failed?.contains("path=/fail") == true, "\(lines)")
        #expect(protocolError?.contains("code=1002") == true, "\(lines)")
        for line in [refused, failed, protocolError].compactMap({ $0 }) {
            #expect(line.contains("connection=") && line.contains("peer=127.0.0.1:"), "\(line)")
        }
        #expect(!lines.contains { $0.contains(secret) }, "\(lines.filter { $0.contains(secret) })")
    }

    @Test func aFloodOfBadRequestsLogsAtMostTheLimitASecond() async throws {
        let log = CapturedLog()
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, logger: log.logger))
        let port = try server.start().port
        defer { try? server.stop() }
        let started = ContinuousClock.now
        try await onOwnThread {
            for _ in 0..<200 {
                let socket = try TestSocket(port: port)
                try socket.send("NOT HTTP\r\n\r\n")
                _ = try? socket.receiveResponse()
            }
        }
        let seconds = Int((ContinuousClock.now - started).components.seconds) + 2
        let refusals = log.lines.filter { $0.contains("request refused") }
        #expect(refusals.count >= 20 && refusals.count <= LoopContext.logLinesPerSecond * seconds, "\(refusals.count) lines in \(seconds) s")
    }
}
