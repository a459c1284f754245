import Foundation
import Testing
@testable import Switchboard

/// Runs a third-party client program against a live server and reports
/// its exit status and output.
func runClient(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

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
