import Glibc

/// Client-protocol subscribers over real loopback sockets, read by the
/// benchmark's own thread: connect, upgrade, subscribe, then count the
/// server's text frames (unmasked, as RFC 6455 has them) as they arrive.
final class LoopbackSubscribers {
    private var sockets: [Int32] = []
    private var pending: [[UInt8]]

    init(port: Int, count: Int, topic: String) {
        pending = Array(repeating: [], count: count)
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            precondition(connected == 0, "connect: errno \(errno)")
            send(fd, Array("GET /pubsub HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
            var head: [UInt8] = []
            while !head.suffix(4).elementsEqual([13, 10, 13, 10]) { head.append(receiveByte(fd)) }
            // A masked text frame (mask 0: the payload as is), then the ack.
            let request = Array(#"{"type":"subscribe","topic":"\#(topic)","id":1}"#.utf8)
            send(fd, [0x81, 0x80 | UInt8(request.count), 0, 0, 0, 0] + request)
            _ = receiveByte(fd)
            let length = Int(receiveByte(fd))
            for _ in 0..<length { _ = receiveByte(fd) }
            sockets.append(fd)
        }
    }

    deinit { for fd in sockets { close(fd) } }

    /// Reads until `frames` frames arrived over all sockets.
    func receive(frames expected: Int) {
        var remaining = expected
        var fds = sockets.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while remaining > 0 {
            precondition(poll(&fds, nfds_t(fds.count), 5_000) > 0, "no deliveries for 5 s")
            for index in fds.indices where fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { recv(fds[index].fd, $0.baseAddress, $0.count, 0) }
                precondition(count > 0, "the server closed a subscriber")
                pending[index].append(contentsOf: buffer[0..<count])
                remaining -= takeFrames(&pending[index])
            }
        }
    }

    /// Removes the whole frames at the front of `bytes`; returns how many.
    private func takeFrames(_ bytes: inout [UInt8]) -> Int {
        var start = 0, frames = 0
        while bytes.count - start >= 2 {
            var header = 2, length = Int(bytes[start + 1] & 0x7F)
            if length == 126 {
                guard bytes.count - start >= 4 else { break }
                header = 4
                length = Int(bytes[start + 2]) << 8 | Int(bytes[start + 3])
            }
            guard bytes.count - start >= header + length else { break }
            start += header + length
            frames += 1
        }
        bytes.removeFirst(start)
        return frames
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        precondition(bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) } == bytes.count, "send")
    }

    private func receiveByte(_ fd: Int32) -> UInt8 {
        var byte: UInt8 = 0
        precondition(recv(fd, &byte, 1, 0) == 1, "recv: errno \(errno)")
        return byte
    }
}
