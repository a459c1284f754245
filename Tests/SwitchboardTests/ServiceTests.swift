import Foundation
import Logging
import Synchronization
import SwitchboardSync
import ServiceLifecycle
import Testing
import TestSupport
@testable import Switchboard

/// A service of the application's own beside the server: it records the
/// group's graceful shutdown.
private final class OtherService: Service {
    private let stopped = Atomic(false)
    var hasStopped: Bool { stopped.load(ordering: .relaxed) }

    func run() async throws {
        try? await gracefulShutdown()
        stopped.store(true, ordering: .relaxed)
    }
}

private func echoServer(drainDelay: Duration = .zero, grace: Duration = .seconds(2)) -> (Server, Recorder) {
    let recorder = Recorder()
    let server = Server(configuration: ServerConfiguration(
        port: 0, loopCount: 2, shutdownGracePeriod: grace, drainDelay: drainDelay))
    // No heartbeats: a client waiting longer than ping interval and pong
    // timeout for the pool (it does not answer pings) would be dropped.
    server.webSocket("/ws", configuration: quiet, handler: EchoHandler(recorder: recorder))
    server.router.get("/health") { [unowned server] _ in
        server.isDraining ? Response(status: .serviceUnavailable) : .text("ok")
    }
    return (server, recorder)
}

// The clients' socket calls block: in these async tests they run on
// threads of their own, never on the cooperative pool that the group, the
// servers' `stop()` and every other test's tasks need. The pool has one
// thread per core and the suite's synchronous tests hold them while they
// run (some for a minute), so every wait for what a service task does is
// long: the tasks get their turn late, but they get it.
private let poolWait: Double = 180
private let quiet = WebSocketConfiguration(pingInterval: nil)

private func openEcho(_ port: Int) async throws -> TestWebSocket {
    let (client, echo) = try await onOwnThread {
        let client = try TestWebSocket(port: port, path: "/ws")
        client.socket.timeoutMilliseconds = Int32(poolWait * 1000)
        try client.send(text: "hello")
        return (client, try client.receiveNonPing().text)
    }
    #expect(echo == "hello")
    return client
}

/// Reads until the server's close frame, answers it and closes the socket
/// as a browser does; returns the server's code.
private func closeCode(of client: TestWebSocket) async throws -> UInt16? {
    try await onOwnThread {
        let frame = try client.receiveNonPing()
        try? client.send(opcode: .close, Array(frame.payload.prefix(2)))
        client.socket.close()
        return frame.closeCode
    }
}

private func healthStatus(_ port: Int) async throws -> Int {
    try await onOwnThread { try TestSocket(port: port).exchange("GET /health HTTP/1.1\r\nHost: t\r\n\r\n").status }
}

@Suite("Server as a swift-service-lifecycle Service")
struct ServiceTests {
    @Test("a group's graceful shutdown sends 1001 to every WebSocket client and stops every service")
    func gracefulShutdownOfTheGroup() async throws {
        // A short drain delay ends by itself.
        let (server, recorder) = echoServer(drainDelay: .milliseconds(100), grace: .seconds(poolWait))
        defer { recorder.releaseSockets() }
        let other = OtherService()
        let group = ServiceGroup(services: [server, other], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        try #require(await eventually(seconds: poolWait) { server.address != nil })
        let loops = try #require(server.group).loops
        #expect(server.description.hasPrefix("Switchboard.Server(127.0.0.1:"))
        #expect(server.description.hasSuffix(", 2 loops)"))

        var clients: [TestWebSocket] = []
        for _ in 0..<3 { clients.append(try await openEcho(server.address!.port)) }
        await group.triggerGracefulShutdown()
        for client in clients {
            #expect(try await closeCode(of: client) == 1001)
        }
        try await running.value
        #expect(other.hasStopped)
        #expect(server.address == nil && server.description == "Switchboard.Server(stopped)")
        #expect(recorder.all.filter { $0.hasPrefix("close anon 1001") }.count == 3, "\(recorder.all)")
        recorder.releaseSockets()
        #expect(loops.allSatisfy { $0.liveConnectionCount == 0 }, "connection objects leaked")
    }

    /// The drain delay is long, so that the checks run inside it however
    /// late this test's task gets its turn; cancelling the group's task
    /// then cuts it short.
    @Test("during the drain delay the server goes on serving its WebSockets and HTTP, refuses new upgrades, and its health route can say so; cancelling skips the rest of it")
    func drainDelayKeepsServing() async throws {
        let (server, recorder) = echoServer(drainDelay: .seconds(poolWait), grace: .seconds(poolWait))
        defer { recorder.releaseSockets() }
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        try #require(await eventually(seconds: poolWait) { server.address != nil })
        let port = try #require(server.address).port
        let early = try await openEcho(port)
        #expect(try await healthStatus(port) == 200)

        await group.triggerGracefulShutdown()
        #expect(await eventually(seconds: poolWait) { server.isDraining })
        // A client the balancer still sent after the shutdown began is
        // told to go elsewhere (and come back after a while).
        let late = try await onOwnThread { try TestWebSocket.handshake(try TestSocket(port: port), path: "/ws") }
        #expect(late.status == 503 && late.header("retry-after") == "5")
        #expect(try await healthStatus(port) == 503)
        #expect(try await onOwnThread {
            try early.send(text: "still here")
            return try early.receiveNonPing().text
        } == "still here")

        running.cancel()
        #expect(try await closeCode(of: early) == 1001)
        _ = try? await running.value
        #expect(server.address == nil)
    }

    @Test("a server stopped behind its group's back makes run() throw, and the group stops the rest")
    func stoppedOutsideTheGroup() async throws {
        let (server, _) = echoServer()
        let other = OtherService()
        let group = ServiceGroup(services: [server, other], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        try #require(await eventually(seconds: poolWait) { server.address != nil })
        try await server.stop()
        await #expect(throws: ServerError.stoppedOutsideItsGroup) { try await running.value }
        #expect(other.hasStopped)
    }

    @Test("run() of a stopped server throws instead of serving nothing")
    func runAfterStop() async throws {
        let (server, _) = echoServer()
        try server.start()
        try await server.stop()
        await #expect(throws: ServerError.notRunning) { try await server.run() }
    }

    /// More servers than the cooperative pool has threads stop at once,
    /// and each stop is held open: its only WebSocket's `onClose` waits
    /// until the test lets it go, so the stop waits too (its grace period is
    /// long). Meanwhile small tasks must still run: a `stop()` that blocked
    /// a pool thread for its wait would hold every thread, the small tasks
    /// and the test's own task with them, until the grace periods end.
    @Test("async stop() waits without holding a thread of the cooperative pool")
    func asyncStopDoesNotBlockThePool() async throws {
        let count = ProcessInfo.processInfo.activeProcessorCount + 2
        let closing = Latch(count: 1)
        let servers = try (0..<count).map { _ in
            let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, shutdownGracePeriod: .seconds(poolWait)))
            server.webSocket("/ws", configuration: quiet, handler: HeldClose(closing: closing))
            try server.start()
            return server
        }
        var clients: [TestWebSocket] = []
        for server in servers {
            let port = try #require(server.address).port
            clients.append(try await onOwnThread {
                let client = try TestWebSocket(port: port, path: "/ws")
                client.socket.timeoutMilliseconds = Int32(poolWait * 1000)
                return client
            })
        }
        let stopped = Locked(0)
        let stops = Task {
            try await withThrowingTaskGroup(of: Void.self) { stops in
                for server in servers {
                    stops.addTask {
                        try await server.stop()
                        stopped.withLock { $0 += 1 }
                    }
                }
                try await stops.waitForAll()
            }
        }
        // Every stop has begun: its client has the 1001. It closes, and the
        // server's `onClose` holds the stop.
        for client in clients {
            #expect(try await closeCode(of: client) == 1001)
        }
        await withTaskGroup(of: Void.self) { small in
            for _ in 0..<(4 * count) { small.addTask { try? await Task.sleep(for: .milliseconds(1)) } }
        }
        #expect(stopped.withLock { $0 } == 0, "small tasks waited for the stops")
        closing.countDown()
        try await stops.value
        #expect(stopped.withLock { $0 } == count)
    }
}

/// A handler whose `onClose` waits (on the loop's thread) until `closing`
/// is counted down, which keeps the server's `stop()` waiting for it.
private struct HeldClose: WebSocketHandler {
    let closing: Latch

    func onClose(_ socket: WebSocket<Void>, code: WebSocketCloseCode, reason: String) {
        closing.wait(timeout: .seconds(poolWait))
    }
}
