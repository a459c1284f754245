import Foundation
import Glibc
import Logging
import Switchboard
import TestSupport
import SwitchboardIO
import SwitchboardWire

/// `connection-io`: the input is a program of socket operations that up to
/// four clients run against a real server on loopback: connect, handshakes,
/// frames (valid or not, masked or not, whole or cut), HTTP requests, half
/// closes, resets, slow or no reading, waits, publishes from another
/// thread. The idea of uWebSockets' libEpollFuzzer with the kernel kept:
/// the remote side decides the order of events, and coverage guides it.
///
/// Each input gets a server of its own (one loop, short timers so heartbeat,
/// close and write-stall paths run within a program). Checks: the process
/// survives (libuv asserts on a handle misuse); after every client reset,
/// every connection object is released within 3 s; stopping the server
/// leaves no libuv handle open and no connection object alive.
///
/// Not deterministic like the parser targets (the kernel and the loop
/// thread interleave), but a saved input replays the same program.
enum ConnectionIOTarget {
    static let target = FuzzTarget(
        name: "connection-io",
        summary: "socket programs against a real server: no crash, no leaked connection or handle",
        check: check
    )

    static func check(_ input: [UInt8]) throws(PropertyViolation) {
        let server = FuzzedServer.make()
        let port: Int
        do {
            port = try server.start().port
        } catch {
            throw PropertyViolation("server did not start: \(error)")
        }
        var program = ProgramReader(input)
        var clients = ClientSockets(port: port)
        var steps = 0
        while let op = program.byte(), steps < 64 {
            steps += 1
            let slot = Int(op >> 4) % ClientSockets.count
            clients.run(op: op & 0x0F, slot: slot, program: &program, server: server)
        }
        clients.resetAll()
        let group = server.group!
        let released = waitUntil(milliseconds: 3_000) { group.loops.allSatisfy { $0.liveConnectionCount == 0 } }
        do {
            try server.stop()
        } catch {
            throw PropertyViolation("stop: \(error)")
        }
        try require(released, "connections still alive 3 s after every client reset: \(group.loops.map(\.liveConnectionCount))")
        try require(group.loops.allSatisfy { $0.liveConnectionCount == 0 }, "connection objects alive after stop")
    }

    private static func waitUntil(milliseconds: Int, _ condition: () -> Bool) -> Bool {
        for _ in 0..<milliseconds {
            if condition() { return true }
            usleep(1_000)
        }
        return condition()
    }
}

/// The fuzz input read front to back; running out ends the program.
struct ProgramReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func byte() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, position + count)
        defer { position = end }
        return Array(bytes[position..<end])
    }
}

/// A server with every kind of route a client can reach, and timers short
/// enough to fire within one program.
enum FuzzedServer {
    static func make() -> Server {
        // Quiet: a server starts for every input.
        let logger = Logger(label: "connection-io", factory: { _ in SwiftLogNoOpLogHandler() })
        let server = Server(configuration: ServerConfiguration(
            host: "127.0.0.1", port: 0, loopCount: 1, shutdownGracePeriod: .milliseconds(200), logger: logger))
        let quick = WebSocketConfiguration(
            origins: .any, maxMessageSize: 64 * 1024, pingInterval: .milliseconds(60), pongTimeout: .milliseconds(100),
            idleTimeout: .milliseconds(400), maxQueuedBytes: 64 * 1024, writeTimeout: .milliseconds(150), closeTimeout: .milliseconds(150)
        )
        var dropping = quick
        dropping.slowConsumerPolicy = .drop
        var compressing = quick
        compressing.compression = .perMessageDeflate
        compressing.idleTimeout = nil
        server.router.get("/health") { _ in .text("ok") }
        server.router.post("/publish/:name") { request in
            server.pubsub.publish(request.parameters["name"] ?? "", binary: request.body)
            return .text("ok")
        }
        server.webSocket("/echo", configuration: quick, handler: FuzzEcho())
        server.webSocket("/deflate", configuration: compressing, handler: FuzzEcho())
        server.webSocket("/topic/:name", configuration: dropping, handler: PublishingMember(pubsub: server.pubsub))
        server.pubsubEndpoint("/pubsub", configuration: quick, authorizer: PubSubAuthorizer())
        return server
    }
}

/// Echoes; "close" closes from the loop, "later" closes from another thread.
struct FuzzEcho: WebSocketHandler {
    func onText(_ socket: WebSocket<Void>, _ text: String) {
        switch text {
        case "close": socket.close(code: .normalClosure, reason: "asked")
        case "later":
            Thread.detachNewThread {
                socket.send(text: "bye")
                socket.close(code: .goingAway, reason: "from another thread")
            }
        default: socket.send(text: text)
        }
    }
    func onBinary(_ socket: WebSocket<Void>, _ data: [UInt8]) { socket.send(binary: data) }
}

/// Up to four raw client sockets driven by the program.
struct ClientSockets {
    static let count = 4
    private let port: Int
    private var fds = [Int32](repeating: -1, count: count)

    init(port: Int) { self.port = port }

    private static let paths = ["/echo", "/topic/a", "/topic/b", "/deflate", "/pubsub", "/missing"]

    mutating func run(op: UInt8, slot: Int, program: inout ProgramReader, server: Server) {
        switch op {
        case 0, 1:
            connect(slot)
        case 2:
            let path = Self.paths[Int(program.byte() ?? 0) % Self.paths.count]
            let offer = (program.byte() ?? 0) & 1 == 1 ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : ""
            send(slot, Array(("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(offer)\r\n").utf8))
        case 3, 4:
            send(slot, frame(&program))
        case 5:
            // A frame cut short: the rest may never come.
            let whole = frame(&program)
            send(slot, Array(whole.prefix(Int(program.byte() ?? 0) % max(whole.count, 1))))
        case 6:
            send(slot, program.bytes(Int(program.byte() ?? 0)))
        case 7:
            let requests = [
                "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                "POST /publish/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                "POST /publish/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                "GET /health HTTP/1.0\r\n\r\n",
                "BROKEN\r\n\r\n",
            ]
            send(slot, Array(requests[Int(program.byte() ?? 0) % requests.count].utf8))
        case 8:
            if fds[slot] >= 0 { shutdown(fds[slot], Int32(SHUT_WR)) }
        case 9:
            reset(slot)
        case 10:
            if fds[slot] >= 0 { close(fds[slot]); fds[slot] = -1 }
        case 11:
            drain(slot)
        case 12:
            usleep(UInt32(program.byte() ?? 0) % 16 * 250)
        case 13:
            let size = Int(program.byte() ?? 0) * 64
            server.pubsub.publish((program.byte() ?? 0) & 1 == 0 ? "a" : "b", binary: [UInt8](repeating: 0x5A, count: size))
        case 14:
            if fds[slot] >= 0 {
                var size: Int32 = 2048
                setsockopt(fds[slot], SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
        default:
            // Many small frames in one write: the server answers them in one read callback.
            var burst: [UInt8] = []
            for _ in 0..<Int((program.byte() ?? 0) % 32) {
                burst += WebSocketFrame.encode(opcode: .text, payload: Array("x".utf8), maskingKey: (1, 2, 3, 4))
            }
            send(slot, burst)
        }
    }

    /// A client frame built from the program: opcode, flags, mask or none,
    /// payload (a close frame gets a code first).
    private func frame(_ program: inout ProgramReader) -> [UInt8] {
        let head = program.byte() ?? 0
        let opcodes: [UInt8] = [0x1, 0x2, 0x0, 0x8, 0x9, 0xA, 0x3, 0xB]
        let opcode = opcodes[Int(head & 0x07)]
        let fin = head & 0x08 == 0
        let rsv: UInt8 = head & 0x10 != 0 ? 0x40 : 0
        let masked = head & 0x20 == 0
        let long = head & 0x40 != 0
        var payload = program.bytes(Int(program.byte() ?? 0))
        if long { payload += [UInt8](repeating: 0x41, count: Int(program.byte() ?? 0) * 512) }
        if head & 0x80 != 0 { payload = Array("héllo wörld".utf8) + payload }
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        switch payload.count {
        case ..<126: bytes.append(maskBit | UInt8(payload.count))
        case ..<65536: bytes += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: bytes += [maskBit | 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        }
        guard masked else { return bytes + payload }
        let key: [UInt8] = [0x11, 0x22, 0x33, 0x44]
        return bytes + key + payload.enumerated().map { $1 ^ key[$0 % 4] }
    }

    private mutating func connect(_ slot: Int) {
        guard fds[slot] < 0 else { return }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return
        }
        // Never block the program: a send the kernel will not take is cut short.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        fds[slot] = fd
    }

    private func send(_ slot: Int, _ bytes: [UInt8]) {
        guard fds[slot] >= 0, !bytes.isEmpty else { return }
        _ = bytes.withUnsafeBytes { Glibc.send(fds[slot], $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private func drain(_ slot: Int) {
        guard fds[slot] >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<16 {
            let count = buffer.withUnsafeMutableBytes { recv(fds[slot], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count <= 0 { return }
        }
    }

    /// Closes with RST: SO_LINGER on with a zero timeout.
    private mutating func reset(_ slot: Int) {
        guard fds[slot] >= 0 else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fds[slot], SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fds[slot])
        fds[slot] = -1
    }

    mutating func resetAll() {
        for slot in 0..<Self.count { reset(slot) }
    }
}
