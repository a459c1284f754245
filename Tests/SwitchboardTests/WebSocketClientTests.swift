import Foundation
import Testing
import TestSupport
@testable import Switchboard

/// Third-party client programs (Python, Node), run with `runClient`.
let clientsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients").path

@Suite("Third-party WebSocket clients")
struct WebSocketClientTests {
    static let configuration = WebSocketConfiguration(subprotocols: ["v1.chat"])

    @Test func pythonWebsockets() throws {
        try withWebSocketServer(Self.configuration) { _, port, _ in
            let result = try runClient(["python3", clientsFolder + "/echo_client.py", "\(port)"])
            #expect(result.status == 0, "\(result.output)")
        }
    }

    @Test func nodeBuiltInWebSocket() throws {
        try withWebSocketServer(Self.configuration) { _, port, _ in
            let result = try runClient(["node", "--experimental-websocket", "--no-warnings", clientsFolder + "/echo_client.mjs", "\(port)"])
            #expect(result.status == 0, "\(result.output)")
        }
    }
}
