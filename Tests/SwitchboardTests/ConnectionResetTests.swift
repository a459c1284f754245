import Foundation
import Glibc
import Synchronization
import SwitchboardWire
import Testing
import TestSupport
@testable import Switchboard

/// Echoes every message with its opcode (BenchHost's /echo).
struct OpcodeEcho: WebSocketHandler {
    func onText(_ socket: WebSocket<Void>, _ text: String) { socket.send(text: text) }
    func onBinary(_ socket: WebSocket<Void>, _ data: [UInt8]) { socket.send(binary: data) }
}

/// Runs `body(iteration)` for `iterations` iterations spread over
/// `threads` real threads (not the cooperative pool, which blocking socket
/// calls would starve), and returns the failures.
func runOnThreads(_ threads: Int, iterations: Int, _ body: @escaping @Sendable (Int) throws -> Void) -> [String] {
    final class Progress: Sendable {
        let next = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
    }
    let progress = Progress()
    let finished = DispatchSemaphore(value: 0)
    for _ in 0..<threads {
        Thread.detachNewThread {
            while true {
                let iteration = progress.next.add(1, ordering: .relaxed).oldValue
                guard iteration < iterations else { break }
                do {
                    try body(iteration)
                } catch {
                    progress.failures.withLock { $0.append("iteration \(iteration): \(error)") }
                }
            }
            finished.signal()
        }
    }
    for _ in 0..<threads { finished.wait() }
    return progress.failures.withLock { $0 }
}

/// The complete frames at the start of `bytes` from a server (unmasked,
/// RFC 6455 §5.2): opcode, payload length, and a close frame's code.
func completeServerFrames(in bytes: [UInt8]) -> [(opcode: UInt8, length: Int, closeCode: UInt16?)] {
    var frames: [(opcode: UInt8, length: Int, closeCode: UInt16?)] = []
    var offset = 0
    while offset + 2 <= bytes.count {
        var length = Int(bytes[offset + 1] & 0x7F)
        var header = 2
        if length == 126 {
            guard offset + 4 <= bytes.count else { break }
            length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            header = 4
        } else if length == 127 {
            guard offset + 10 <= bytes.count else { break }
            length = bytes[(offset + 2)..<(offset + 10)].reduce(0) { $0 << 8 | Int($1) }
            header = 10
        }
        guard offset + header + length <= bytes.count else { break }
        let opcode = bytes[offset] & 0x0F
        let code = opcode == 0x8 && length >= 2 ? UInt16(bytes[offset + header]) << 8 | UInt16(bytes[offset + header + 1]) : nil
        frames.append((opcode, length, code))
        offset += header + length
    }
    return frames
}

/// Clients that end their connection abruptly at the moments a server is
/// most exposed: right after the close frame, right after a protocol error,
/// after the closing handshake with bytes left unread. Each is repeated
/// over a few threads, then the server must still answer, hold no
/// connection object, and stop with every handle closed.
///
/// The first two used to abort the process with libuv's
/// `uv_close: Assertion '!uv__is_closing(handle)' failed`: flushing the
/// corked close frame failed on the reset socket and closed the handle,
/// and the same call went on to shut it down and close it again.
@Suite("Connections reset by the client", .serialized)
struct ConnectionResetTests {
    static let threads = 4
    static let iterations = 200

    /// Runs `body` against a server with an echo route at /ws, then checks
    /// that it still serves and that every connection object is gone.
    func withEchoServer(_ body: (Int) throws -> Void) throws {
        let configuration = WebSocketConfiguration(origins: .any)
        try withServer(loops: 2, routes: { $0.webSocket("/ws", configuration: configuration, handler: OpcodeEcho()) }) { server, port in
            try body(port)
            let health = try TestSocket(port: port).exchange("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(health.status == 200 && health.bodyText == "ok")
            // A connection reset by its peer closes at once: no linger, no timeout.
            let loops = server.group!.loops
            #expect(eventually(seconds: 5) { loops.allSatisfy { $0.liveConnectionCount == 0 } },
                    "live connections: \(loops.map(\.liveConnectionCount))")
        }
    }

    /// upgrade → message → its echo → close frame → RST (SO_LINGER 0).
    @Test func closeFrameThenReset() throws {
        try withEchoServer { port in
            let failures = runOnThreads(Self.threads, iterations: Self.iterations) { iteration in
                let client = try TestWebSocket(port: port, path: "/ws")
                try client.send(text: "message \(iteration)")
                let echo = try client.receiveNonPing()
                guard echo.text == "message \(iteration)" else {
                    throw TestSocket.Failure(description: "echo was \(echo.text)")
                }
                try client.send(opcode: .close, WebSocketFrame.closePayload(code: .normalClosure, reason: ""))
                client.socket.resetClose()
            }
            #expect(failures.isEmpty, "\(failures.prefix(5))")
        }
    }

    /// upgrade → message → its echo → an unmasked frame (1002) or invalid
    /// UTF-8 (1007) → RST at once. One iteration in four reads the close
    /// frame first and checks its code, then resets.
    @Test func protocolErrorThenReset() throws {
        try withEchoServer { port in
            let failures = runOnThreads(Self.threads, iterations: Self.iterations) { iteration in
                let client = try TestWebSocket(port: port, path: "/ws")
                try client.send(text: "message \(iteration)")
                _ = try client.receiveNonPing()
                let expected: WebSocketCloseCode
                if iteration.isMultiple(of: 2) {
                    try client.send(opcode: .text, Array("not masked".utf8), masked: false)  // RFC 6455 §5.1
                    expected = .protocolError
                } else {
                    try client.send(opcode: .text, [0x6F, 0x6B, 0xC0, 0xAF])  // overlong "/" (RFC 3629 §3)
                    expected = .invalidPayload
                }
                if iteration % 4 >= 2 {
                    let close = try client.receiveNonPing()
                    guard close.opcode == 0x8, close.closeCode == expected.rawValue else {
                        throw TestSocket.Failure(description: "expected close \(expected.rawValue), got opcode \(close.opcode) code \(String(describing: close.closeCode))")
                    }
                }
                client.socket.resetClose()
            }
            #expect(failures.isEmpty, "\(failures.prefix(5))")
        }
    }

    /// upgrade → messages whose echoes are never read → close frame → wait
    /// until the server's close reply is in the receive buffer (the closing
    /// handshake is complete) → close(), which sends RST because the echoes
    /// are still unread.
    @Test func closingHandshakeThenCloseWithUnreadData() throws {
        try withEchoServer { port in
            let failures = runOnThreads(Self.threads, iterations: Self.iterations) { iteration in
                let client = try TestWebSocket(port: port, path: "/ws")
                for index in 0..<3 { try client.send(opcode: .binary, [UInt8](repeating: UInt8(index), count: 100 * (iteration % 7 + 1))) }
                try client.send(opcode: .close, WebSocketFrame.closePayload(code: .normalClosure, reason: "bye"))
                let deadline = ContinuousClock.now + .seconds(5)
                var reply: UInt16?
                while reply == nil, ContinuousClock.now < deadline {
                    reply = completeServerFrames(in: try client.socket.peek()).first { $0.opcode == 0x8 }?.closeCode
                    if reply == nil { usleep(1_000) }
                }
                guard reply == WebSocketCloseCode.normalClosure.rawValue else {
                    throw TestSocket.Failure(description: "no close reply 1000 in the receive buffer: \(String(describing: reply))")
                }
                client.socket.close()  // unread echoes: RST
            }
            #expect(failures.isEmpty, "\(failures.prefix(5))")
        }
    }
}
