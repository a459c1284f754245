import Glibc
import SwitchboardWire
import Testing
import TestSupport
@testable import Switchboard

/// Clients that read steadily, only slower than the server writes: they
/// must get everything, and the close frame after it (RFC 6455 §7.1.2).
/// `writeTimeout` is for peers that read nothing at all.
///
/// Both were found by the chaos test (ChaosTests) on a loaded machine, where
/// topic connections saw "EOF without a close frame":
///
/// - `TCPConnection.closeAfterFlush` armed the 2 s linger deadline before
///   the queue was flushed: a queue that took longer to drain was dropped
///   with the close frame behind it. The deadline now follows write progress.
/// - Write progress (`lastWriteProgress`, which `writeTimeout` measures) is
///   only recorded when an asynchronous write completes, and one gathered up
///   to 64 queued buffers: a peer reading steadily but slower than that per
///   `writeTimeout` was dropped as stalled. One covers 256 KiB at most now.
@Suite("Slow readers")
struct SlowReaderCloseTests {
    /// Sends `count` binary messages of 1 MiB that the server echoes, without
    /// reading; then `close` when given; then reads `bytesPerRead` every
    /// 20 ms until EOF or `seconds`. Returns the frames that arrived.
    func echoThenReadSlowly(
        port: Int, count: Int, close: Bool, bytesPerRead: Int, receiveBuffer: Int32, seconds: Int
    ) throws -> (frames: [(opcode: UInt8, length: Int, closeCode: UInt16?)], bytes: Int) {
        let client = try TestWebSocket(port: port, path: "/ws", receiveBufferSize: receiveBuffer)
        let message = [UInt8](repeating: 0x5A, count: 1 << 20)
        for _ in 0..<count { try client.send(opcode: .binary, message) }
        if close { try client.send(opcode: .close, WebSocketFrame.closePayload(code: .normalClosure, reason: "")) }
        client.socket.timeoutMilliseconds = 5_000
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(seconds)
        var chunk = [UInt8](repeating: 0, count: bytesPerRead)
        while ContinuousClock.now < deadline {
            var pollfd = Glibc.pollfd(fd: client.socket.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pollfd, 1, 5_000) > 0 else { break }
            let read = chunk.withUnsafeMutableBytes { recv(client.socket.fd, $0.baseAddress, $0.count, 0) }
            if read <= 0 { break }  // EOF, or RST
            received += chunk[0..<read]
            if !close, received.count >= count * ((1 << 20) + 10) { break }  // every echo is in
            usleep(20_000)
        }
        return (completeServerFrames(in: received), received.count)
    }

    /// 16 MiB of echoes, then a close frame; the client reads about
    /// 3 MiB/s, so the server's share of the queue (what the kernel's
    /// buffers do not hold, a few MiB) takes more than 2 s to leave.
    @Test func slowReaderGetsEveryEchoThenTheCloseFrame() throws {
        let configuration = WebSocketConfiguration(origins: .any, maxQueuedBytes: 64 << 20)
        try withServer(loops: 1, routes: { $0.webSocket("/ws", configuration: configuration, handler: OpcodeEcho()) }) { _, port in
            let count = 16
            let (frames, bytes) = try echoThenReadSlowly(port: port, count: count, close: true, bytesPerRead: 64 << 10, receiveBuffer: 64 << 10, seconds: 20)
            let echoes = frames.filter { $0.opcode == 0x2 && $0.length == 1 << 20 }.count
            #expect(echoes == count, "echoes received: \(echoes) of \(count), \(bytes) bytes in all")
            #expect(frames.last?.opcode == 0x8 && frames.last?.closeCode == 1000, "no close frame at the end")
        }
    }

    /// 16 MiB of echoes with `writeTimeout` at 2 s; the client reads about
    /// 3 MiB/s without a pause longer than 20 ms, so it is never 2 s
    /// without progress.
    @Test func steadyReaderIsNotDroppedAsStalled() throws {
        let configuration = WebSocketConfiguration(origins: .any, maxQueuedBytes: 64 << 20, writeTimeout: .seconds(2))
        try withServer(loops: 1, routes: { $0.webSocket("/ws", configuration: configuration, handler: OpcodeEcho()) }) { _, port in
            let count = 16
            let (frames, bytes) = try echoThenReadSlowly(port: port, count: count, close: false, bytesPerRead: 64 << 10, receiveBuffer: 64 << 10, seconds: 20)
            let echoes = frames.filter { $0.opcode == 0x2 && $0.length == 1 << 20 }.count
            #expect(echoes == count, "echoes received: \(echoes) of \(count), \(bytes) bytes in all")
        }
    }
}
