import Testing
import TestSupport
@testable import Switchboard

/// `onMessage` lends a message's bytes where they lie (the loop's read
/// buffer, the session's buffer, joined fragments, an inflated message);
/// an echo answering from them must send back exactly what came in.
@Suite("Lent messages (onMessage)")
struct LentMessageTests {
    struct LentEcho: WebSocketHandler {
        func onMessage(_ socket: WebSocket<Void>, _ bytes: RawSpan, isText: Bool) {
            if isText { socket.send(utf8Text: bytes) } else { socket.send(binary: bytes) }
        }
    }

    @Test("whole, fragmented, large, burst and compressed messages echo exactly", arguments: [false, true])
    func echoFromLentBytes(compressed: Bool) async throws {
        let configuration = WebSocketConfiguration(
            origins: .any, maxMessageSize: 1 << 20, compression: compressed ? WebSocketCompression() : nil)
        try await withServer(loops: 1, routes: { $0.webSocket("/lent", configuration: configuration, handler: LentEcho()) }) { _, port in
            var arguments = ["python3", clientsFolder + "/lent_echo_client.py", "\(port)"]
            if compressed { arguments.append("compress") }
            // The client runs on a thread of its own, not one of the cooperative pool's.
            let result = try await onOwnThread { [arguments] in try runClient(arguments) }
            #expect(result.status == 0, "\(result.output)")
        }
    }

    /// A handler that only implements `onText`/`onBinary` gets copies from
    /// the default `onMessage`.
    struct CopyingEcho: WebSocketHandler {
        func onText(_ socket: WebSocket<Void>, _ text: String) { socket.send(text: text) }
        func onBinary(_ socket: WebSocket<Void>, _ data: [UInt8]) { socket.send(binary: data) }
    }

    @Test("the default onMessage hands copies to onText and onBinary")
    func defaultCopies() async throws {
        let configuration = WebSocketConfiguration(origins: .any, maxMessageSize: 1 << 20)
        try await withServer(loops: 1, routes: { $0.webSocket("/lent", configuration: configuration, handler: CopyingEcho()) }) { _, port in
            let result = try await onOwnThread { try runClient(["python3", clientsFolder + "/lent_echo_client.py", "\(port)"]) }
            #expect(result.status == 0, "\(result.output)")
        }
    }
}
