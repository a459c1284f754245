import Switchboard
import TestSupport
import SwitchboardWire
import SwitchboardSync

/// Collects what handlers saw, from any thread.
final class Recorder: Sendable {
    private let lines = Locked<[String]>([])
    private let sockets = Locked<[WebSocket<String>]>([])

    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
    func keep(_ socket: WebSocket<String>) { sockets.withLock { $0.append(socket) } }
    var kept: [WebSocket<String>] { sockets.withLock { $0 } }
    /// Lets go of the sockets, so the leak check after a test sees none.
    func releaseSockets() { sockets.withLock { $0 = [] } }

    /// Waits up to `seconds` for a line with `prefix`.
    func waitFor(_ prefix: String, seconds: Double = 5) -> String? {
        var found: String?
        _ = eventually(seconds: seconds) {
            found = all.first { $0.hasPrefix(prefix) }
            return found != nil
        }
        return found
    }
}

/// Echoes messages; authenticates with `?token=` (must be "secret" when
/// present) and names the user with `?user=`; "close-me" makes the server
/// close with 4000; "flood N SIZE" sends N binary messages of SIZE bytes.
struct EchoHandler: WebSocketHandler {
    let recorder: Recorder

    func authenticate(_ request: Request) throws -> String {
        if let token = request.queryValue("token"), token != "secret" {
            throw HTTPError(.unauthorized, "bad token")
        }
        return request.queryValue("user") ?? "anon"
    }

    func onOpen(_ socket: WebSocket<String>) {
        recorder.keep(socket)
        recorder.add("open \(socket.userData) \(socket.subprotocol ?? "-") \(socket.loop.inEventLoop)")
    }

    func onText(_ socket: WebSocket<String>, _ text: String) {
        if text == "close-me" {
            socket.close(code: WebSocketCloseCode(4000), reason: "asked")
        } else if text.hasPrefix("flood ") {
            let parts = text.split(separator: " ").compactMap { Int($0) }
            let payload = [UInt8](repeating: 7, count: parts[1])
            var results: [SendResult: Int] = [:]
            for _ in 0..<parts[0] { results[socket.send(binary: payload), default: 0] += 1 }
            recorder.add("flooded \(socket.userData) dropped=\(results[.dropped, default: 0])")
        } else {
            socket.send(text: text)
        }
    }

    func onBinary(_ socket: WebSocket<String>, _ data: [UInt8]) { socket.send(binary: data) }

    func onClose(_ socket: WebSocket<String>, code: WebSocketCloseCode, reason: String) {
        recorder.add("close \(socket.userData) \(code.rawValue) \(reason)")
    }
}

