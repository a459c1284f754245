import Glibc
import Foundation

/// A blocking TCP client for tests: exact bytes out, bytes or a parsed
/// HTTP response back, every wait bounded by a timeout. Sendable so that
/// async tests can do its blocking calls on a thread of their own; it is
/// used by one thread at a time.
public final class TestSocket: @unchecked Sendable {
    /// The socket; -1 once `close()` or `resetClose()` closed it.
    public private(set) var fd: Int32
    private var buffered: [UInt8] = []
    public var timeoutMilliseconds: Int32 = 5_000

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// `receiveBufferSize` shrinks the kernel's receive buffer (and so the
    /// TCP window), to play a client that reads slowly or not at all.
    /// `sourceHost` binds the client side to another loopback address
    /// (127.0.0.2, …), so tests that open thousands of connections spread
    /// them over more address/port pairs than one address has.
    public init(port: Int, host: String = "127.0.0.1", receiveBufferSize: Int32? = nil, sourceHost: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        if let sourceHost {
            var source = sockaddr_in()
            source.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, sourceHost, &source.sin_addr)
            let bound = withUnsafePointer(to: &source) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            // No close here: a class whose init throws after setting every
            // property is deinitialised, and deinit closes `fd`. Closing it
            // twice would close whatever another thread opened meanwhile
            // under the same number.
            guard bound == 0 else { throw Failure(description: "bind to \(sourceHost): errno \(errno)") }
        }
        if var size = receiveBufferSize {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw Failure(description: "connect to \(port): errno \(errno)") }  // deinit closes
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send: errno \(errno)") }
            offset += sent
        }
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Closes the sending side (FIN) and keeps reading.
    public func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Closes now. The kernel sends FIN, or RST when bytes the peer sent
    /// are still unread in the receive buffer (RFC 2525 §2.17).
    public func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    /// Closes with RST instead of FIN: SO_LINGER on with a zero timeout
    /// makes `close` drop anything unsent and reset the connection, the
    /// way a crashing or impatient client does.
    public func resetClose() {
        guard fd >= 0 else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }

    /// What the kernel holds in the receive buffer, without consuming it
    /// (MSG_PEEK); waits up to `timeoutMilliseconds` for the first byte.
    /// Bytes already taken into this object's own buffer come first.
    public func peek() throws -> [UInt8] {
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&pollfd, 1, timeoutMilliseconds) > 0 else { return buffered }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_PEEK | MSG_DONTWAIT)) }
        guard count >= 0 else {
            if errno == EAGAIN || errno == ECONNRESET { return buffered }
            throw Failure(description: "recv(MSG_PEEK): errno \(errno)")
        }
        return buffered + chunk[0..<count]
    }

    /// Reads what arrives next; `[]` means the peer closed.
    public func receiveSome() throws -> [UInt8] {
        if !buffered.isEmpty {
            defer { buffered = [] }
            return buffered
        }
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = Glibc.poll(&pollfd, 1, timeoutMilliseconds)
        guard ready > 0 else { throw Failure(description: "timed out after \(timeoutMilliseconds) ms waiting to read") }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 {
            if errno == ECONNRESET { return [] }
            throw Failure(description: "recv: errno \(errno)")
        }
        return Array(chunk[0..<count])
    }

    /// Reads exactly `count` bytes.
    public func receive(count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        while result.count < count {
            let chunk = try receiveSome()
            guard !chunk.isEmpty else { throw Failure(description: "closed after \(result.count) of \(count) bytes") }
            result += chunk
        }
        if result.count > count {
            buffered = Array(result[count...]) + buffered
            result.removeLast(result.count - count)
        }
        return result
    }

    /// Reads until the peer closes; returns everything read.
    public func receiveUntilClosed() throws -> [UInt8] {
        var result: [UInt8] = []
        while true {
            let chunk = try receiveSome()
            if chunk.isEmpty { return result }
            result += chunk
        }
    }

    /// Whether the peer has closed (reads EOF within the timeout).
    public func isClosedByPeer() -> Bool {
        (try? receiveUntilClosed()) != nil
    }

    /// Reads a response head only (a 101, or a HEAD response), leaving
    /// whatever follows it unread.
    public func receiveHead() throws -> TestResponse {
        var bytes: [UInt8] = []
        while bytes.suffix(4) != [13, 10, 13, 10] {
            bytes += try receive(count: 1)
        }
        return try TestResponse(parsingHead: bytes)
    }

    /// Sends `GET path` and reads the response.
    public func get(_ path: String) throws -> TestResponse {
        try exchange("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    }

    /// Sends one request and reads its response.
    public func exchange(_ request: String) throws -> TestResponse {
        try send(request)
        return try receiveResponse()
    }

    /// Reads one HTTP/1.1 response framed by Content-Length (or by close).
    public func receiveResponse() throws -> TestResponse {
        var bytes: [UInt8] = []
        var headEnd: Int?
        while headEnd == nil {
            let chunk = try receiveSome()
            guard !chunk.isEmpty else { throw Failure(description: "closed before a response head; got \(String(decoding: bytes, as: UTF8.self))") }
            bytes += chunk
            headEnd = TestResponse.endOfHead(in: bytes)
        }
        var response = try TestResponse(head: Array(bytes[0..<headEnd!]))
        var rest = Array(bytes[(headEnd! + 4)...])
        if response.status == 204 || response.status == 304 || response.status < 200 {
            // RFC 9112 §6.3: these never have a body.
            buffered = rest + buffered
        } else if let length = response.contentLength {
            while rest.count < length {
                let chunk = try receiveSome()
                guard !chunk.isEmpty else { throw Failure(description: "closed inside a body") }
                rest += chunk
            }
            response.body = Array(rest[0..<length])
            buffered = Array(rest[length...]) + buffered
        } else {
            response.body = rest + (try receiveUntilClosed())
        }
        return response
    }
}

/// A parsed HTTP response, as the test client saw it.
public struct TestResponse: Sendable {
    public var status: Int
    public var reason: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8] = []

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var contentLength: Int? { header("content-length").flatMap { Int($0) } }

    public init(parsingHead bytes: [UInt8]) throws {
        try self.init(head: Array(bytes.dropLast(4)))
    }

    init(head: [UInt8]) throws {
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines[0].split(separator: " ", maxSplits: 2).map(String.init)
        guard statusLine.count >= 2, statusLine[0] == "HTTP/1.1", let status = Int(statusLine[1]) else {
            throw TestSocket.Failure(description: "bad status line: \(lines[0])")
        }
        self.status = status
        reason = statusLine.count > 2 ? statusLine[2] : ""
        headers = lines.dropFirst().map { line in
            let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
        }
    }

    static func endOfHead(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }
}
