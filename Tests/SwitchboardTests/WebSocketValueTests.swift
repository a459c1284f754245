import Synchronization
import Testing
import TestSupport
@testable import Switchboard

/// `WebSocket` is a value referring to its connection: what it reports
/// (user data, subprotocol, peer) comes from the connection and the route,
/// and copies made for different callbacks are equal.
@Suite("WebSocket as a value")
struct WebSocketValueTests {
    final class Seen: Sendable {
        let lines = Mutex<[String]>([])
        let sockets = Mutex<Set<WebSocket<String>>>([])
        func add(_ line: String) { lines.withLock { $0.append(line) } }
    }

    struct Reporter: WebSocketHandler {
        let seen: Seen
        func authenticate(_ request: Request) throws -> String { request.queryValue("user") ?? "nobody" }
        func onOpen(_ socket: WebSocket<String>) {
            seen.sockets.withLock { _ = $0.insert(socket) }
            seen.add("open \(socket.userData) \(socket.subprotocol ?? "-") \(socket.remoteAddress?.host ?? "?")")
        }
        func onText(_ socket: WebSocket<String>, _ text: String) {
            let known = seen.sockets.withLock { $0.contains(socket) }
            socket.send(text: "\(text) \(socket.userData) known=\(known) port=\(socket.remoteAddress?.port ?? 0)")
        }
        func onClose(_ socket: WebSocket<String>, code: WebSocketCloseCode, reason: String) {
            let known = seen.sockets.withLock { $0.remove(socket) != nil }
            seen.add("close \(socket.userData) \(code.rawValue) known=\(known) \(socket.remoteAddress?.host ?? "?")")
        }
    }

    @Test("user data, subprotocol and peer reach every callback; copies are equal")
    func valuesReachCallbacks() async throws {
        let seen = Seen()
        let configuration = WebSocketConfiguration(origins: .any, subprotocols: ["v2", "v1"])
        let script = """
            import asyncio, sys, websockets
            async def main():
                async with websockets.connect(f"ws://127.0.0.1:{sys.argv[1]}/who?user=ada", subprotocols=["v1"]) as ws:
                    port = ws.local_address[1]
                    await ws.send("hi")
                    answer = await ws.recv()
                    assert answer == f"hi ada known=true port={port}", answer
                async with websockets.connect(f"ws://127.0.0.1:{sys.argv[1]}/who") as ws:
                    await ws.send("yo")
                    assert (await ws.recv()).startswith("yo nobody known=true"), "second"
            asyncio.run(main())
            """
        try await withServer(loops: 1, routes: { $0.webSocket("/who", configuration: configuration, handler: Reporter(seen: seen)) }) { _, port in
            let result = try await onOwnThread { try runClient(["python3", "-c", script, "\(port)"]) }
            #expect(result.status == 0, "\(result.output)")
            #expect(await eventually { seen.lines.withLock { $0.count } == 4 })
        }
        #expect(seen.lines.withLock { $0 } == [
            "open ada v1 127.0.0.1", "close ada 1000 known=true 127.0.0.1",
            "open nobody - 127.0.0.1", "close nobody 1000 known=true 127.0.0.1",
        ])
    }
}
