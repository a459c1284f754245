import Glibc
import Testing
import TestSupport
@testable import Switchboard
import SwitchboardWire

/// A peer that sends without reading what it is sent must not keep the
/// server reading: once half of `maxQueuedBytes` waits for it, the server
/// stops reading and TCP flow control stops the peer.
@Suite("Read backpressure over real sockets", .serialized)
struct ReadBackpressureTests {
    /// Sends `frame` without blocking until the socket has refused more for
    /// 300 ms, or `limit` bytes went out, or `seconds` passed. Returns the
    /// bytes sent.
    private func sendUntilBlocked(_ socket: TestSocket, _ frame: [UInt8], limit: Int, seconds: Double = 3) -> Int {
        let flags = fcntl(socket.fd, F_GETFL)
        _ = fcntl(socket.fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(socket.fd, F_SETFL, flags) }
        let start = ContinuousClock.now
        var lastProgress = start
        var total = 0
        var offset = 0
        while total < limit, ContinuousClock.now - start < .milliseconds(Int64(seconds * 1000)) {
            let sent = frame[offset...].withUnsafeBytes { Glibc.send(socket.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                total += sent
                offset = (offset + sent) % frame.count
                lastProgress = .now
            } else {
                if ContinuousClock.now - lastProgress > .milliseconds(300) { break }
                usleep(1_000)
            }
        }
        return total
    }

    @Test func anEchoThatIsNeverReadStopsTheSenderAndLosesNothing() throws {
        // The drop policy would silently drop echoes if the server kept
        // reading; paused, it neither drops nor reads ahead.
        let configuration = WebSocketConfiguration(pingInterval: nil, maxQueuedBytes: 256 * 1024, slowConsumerPolicy: .drop)
        try withWebSocketServer(configuration) { _, port, recorder in
            let client = try TestWebSocket(port: port, path: "/ws?user=writer", receiveBufferSize: 16 * 1024)
            let payload = [UInt8](repeating: 0x42, count: 1024)
            let frame = WebSocketFrame.encode(opcode: .binary, payload: payload, maskingKey: (1, 2, 3, 4))
            let sent = sendUntilBlocked(client.socket, frame, limit: 256 << 20)
            // Bounded by the server's queue threshold and read buffer and by
            // the kernel's socket buffers (up to ~10 MiB on loopback with
            // autotuning); without backpressure the sender reaches the limit.
            #expect(sent < 24 << 20, "the server kept reading: \(sent) bytes accepted")
            for _ in 0..<(sent / frame.count) {
                #expect(try client.receiveNonPing().payload == payload)
            }
            // Reading let the server drain and read again: the frame the
            // sender was cut off in can be finished now, and is echoed too.
            if sent % frame.count != 0 {
                try client.socket.send(Array(frame[(sent % frame.count)...]))
                #expect(try client.receiveNonPing().payload == payload)
            }
            #expect(recorder.kept.first?.droppedMessageCount == 0)
            try client.send(text: "still here")
            #expect(try client.receiveNonPing().text == "still here")
        }
    }

    @Test func aConnectionClosedAsASlowConsumerStopsReadingItsInput() throws {
        let configuration = WebSocketConfiguration(pingInterval: nil, maxQueuedBytes: 256 * 1024, writeTimeout: .seconds(5), closeTimeout: .seconds(5))
        try withWebSocketServer(configuration) { _, port, recorder in
            let client = try TestWebSocket(port: port, path: "/ws?user=flooded", receiveBufferSize: 16 * 1024)
            try client.send(text: "flood 64 16384")  // 1 MiB of replies: over the limit, closed with 1008
            #expect(recorder.waitFor("flooded flooded") != nil)
            let frame = WebSocketFrame.encode(opcode: .binary, payload: [UInt8](repeating: 1, count: 1024), maskingKey: (1, 2, 3, 4))
            let sent = sendUntilBlocked(client.socket, frame, limit: 256 << 20, seconds: 2)
            #expect(sent < 24 << 20, "a closing connection kept reading: \(sent) bytes accepted")
        }
    }
}
