import Glibc
import Testing
import TestSupport
@testable import Switchboard

/// `maxWebSockets`: past it, upgrades get 503 with `Retry-After`, plain
/// HTTP is still served, and room comes back as WebSockets close.
@Suite("WebSocket connection limit")
struct ConnectionLimitTests {
    @Test func pastTheLimitUpgradesGet503WhilePlainHTTPIsServed() async throws {
        let recorder = Recorder()
        let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, loopCount: 2, maxWebSockets: 3))
        server.router.get("/health") { _ in .text("ok") }
        server.webSocket("/ws", configuration: WebSocketConfiguration(pingInterval: nil), handler: EchoHandler(recorder: recorder))
        let port = try server.start().port
        try await onOwnThread {
            let open = try (0..<3).map { index in try TestWebSocket(port: port, path: "/ws?user=u\(index)") }
            #expect(server.webSocketCount == 3)
            let refused = try TestWebSocket.handshake(TestSocket(port: port), path: "/ws?user=late")
            #expect(refused.status == 503 && refused.header("retry-after") == "5", "\(refused.status) \(refused.headers)")
            #expect(try TestSocket(port: port).get("/health").status == 200)
            // A bad handshake is still told what is wrong with it.
            #expect(try TestWebSocket.handshake(TestSocket(port: port), path: "/ws", headers: ["Sec-WebSocket-Version: 8"]).status == 426)

            // One leaves: its place is free once its close has run.
            try open[0].send(opcode: .close, [0x03, 0xE8])
            _ = try open[0].receiveNonPing()
            #expect(eventually { server.webSocketCount == 2 })
            let next = try TestWebSocket(port: port, path: "/ws?user=next")
            try next.send(text: "in")
            #expect(try next.receiveNonPing().text == "in")
            #expect(server.webSocketCount == 3)
        }
        recorder.releaseSockets()
        try await server.stop()
        #expect(server.webSocketCount == 0)
    }
}

/// A node out of descriptors (EMFILE) neither crashes nor spins, and
/// serves again as soon as descriptors are free.
@Suite("Out of descriptors")
struct DescriptorExhaustionTests {
    @Test(.timeLimit(.minutes(1)))
    func benchHostUnderALowDescriptorLimitSurvivesAThousandConnectsAndRecovers() async throws {
        raiseFileLimit()
        let host = try ExampleProcess("BenchHost", descriptorLimit: 64)
        defer { host.stop() }
        let port = host.port
        let ticksPerSecond = sysconf(Int32(_SC_CLK_TCK))
        let (opened, busyTicks) = try await onOwnThread { () -> (Int, Int) in
            // Far more connects than the server has descriptors: the kernel
            // completes them (backlog), the server cannot accept them all.
            var clients: [TestSocket] = []
            for _ in 0..<1_000 {
                guard let client = try? TestSocket(port: port) else { break }
                // A first byte: the server's accept waits for one
                // (TCP_DEFER_ACCEPT), so a silent client takes no descriptor.
                try? client.send("G")
                clients.append(client)
            }
            // Held open for a second: a server spinning on EMFILE would
            // burn that second's CPU.
            let before = host.cpuTicks()
            usleep(1_000_000)
            let busy = host.cpuTicks() - before
            for client in clients { client.resetClose() }
            return (clients.count, busy)
        }
        #expect(opened > 64)
        #expect(Double(busyTicks) < 0.5 * Double(ticksPerSecond), "the server used \(busyTicks) of \(ticksPerSecond) ticks in a second while out of descriptors")
        #expect(host.process.isRunning)
        // Descriptors are free again: it serves.
        let served = await eventually(seconds: 10) {
            (try? TestSocket(port: port).get("/health").status) == 200
        }
        #expect(served)
    }
}
