import Benchmark
import Glibc
import Switchboard

/// An echo through a running server (one loop) on a loopback socket: each
/// iteration writes 20 masked 64-byte binary frames at once and reads the
/// 20 echoes. Allocations are counted over the whole process (the server's
/// loop thread included; the client here allocates nothing per iteration),
/// so `mallocCountTotal` is what an echoed message costs the server, per 20.
/// The handler answers from the lent bytes (`onMessage`), as BenchHost's does.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.cpuTotal, .wallClock, .throughput, .mallocCountTotal],
        maxDuration: .seconds(2),
        maxIterations: 200_000
    )

    struct Echo: WebSocketHandler {
        func onMessage(_ socket: WebSocket<Void>, _ bytes: RawSpan, isText: Bool) {
            if isText { socket.send(utf8Text: bytes) } else { socket.send(binary: bytes) }
        }
    }

    struct CopyingEcho: WebSocketHandler {
        func onText(_ socket: WebSocket<Void>, _ text: String) { socket.send(text: text) }
        func onBinary(_ socket: WebSocket<Void>, _ data: [UInt8]) { socket.send(binary: data) }
    }

    let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1))
    server.webSocket("/echo", configuration: WebSocketConfiguration(origins: .any), handler: Echo())
    server.webSocket("/copy", configuration: WebSocketConfiguration(origins: .any), handler: CopyingEcho())
    let port = try! server.start().port

    // What the harness itself counts per iteration, to subtract.
    Benchmark("nothing (the harness's own count)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(port) }
    }

    for (name, path) in [("echo 20 x 64 B, lent (onMessage)", "/echo"), ("echo 20 x 64 B, copied (onBinary)", "/copy")] {
        let client = EchoClient(port: port, path: path)
        Benchmark(name) { benchmark in
            for _ in benchmark.scaledIterations { client.roundTrip() }
        }
    }
}

/// One upgraded loopback connection with its request and reply buffers
/// made once.
final class EchoClient: @unchecked Sendable {
    private let fd: Int32
    private let burst: [UInt8]
    private var reply: [UInt8]

    init(port: Int, path: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(connected == 0, "connect: errno \(errno)")
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8)
        precondition(request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } == request.count)
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            precondition(recv(fd, &byte, 1, 0) == 1, "recv: errno \(errno)")
            head.append(byte)
        }
        // Masked with a zero key: the payload as is.
        let frame: [UInt8] = [0x82, 0x80 | 64, 0, 0, 0, 0] + [UInt8](repeating: 0x61, count: 64)
        self.fd = fd
        burst = Array([[UInt8]](repeating: frame, count: 20).joined())
        reply = [UInt8](repeating: 0, count: 20 * 66)
    }

    deinit { close(fd) }

    func roundTrip() {
        precondition(burst.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } == burst.count, "send")
        var received = 0
        while received < reply.count {
            let count = reply.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, $0.count - received, 0) }
            precondition(count > 0, "the server closed the connection")
            received += count
        }
    }
}
