import Glibc
import Testing
import TestSupport
@testable import Switchboard

@Suite("HTTP limits and refusals over real sockets")
struct HTTPLimitTests {
    static let small = HTTPConfiguration(
        limits: HTTPParserLimits(maxHeadSize: 1024, maxHeaderCount: 10, maxRequestTargetLength: 256, maxBodySize: 1000),
        requestTimeout: .milliseconds(300),
        keepAliveTimeout: .milliseconds(600)
    )

    /// Each refusal: the status, then the connection closes, and a second
    /// client on the same server is served as if nothing happened.
    @Test(arguments: [
        ("GET /health HTTP/1.1\r\nHost: t\r\nX: \(String(repeating: "a", count: 2000))\r\n\r\n", 431),
        ("GET /health HTTP/1.1\r\nHost: t\r\n" + (0..<11).map { "X\($0): y\r\n" }.joined() + "\r\n", 431),
        ("GET /\(String(repeating: "a", count: 300)) HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", 413),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n\(String(repeating: "a", count: 1001))\r\n0\r\n\r\n", 413),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
        ("GET /health HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", 400),
        ("GET /health HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n", 400),
        ("GET /health HTTP/1.1\r\n\r\n", 400),
        ("GET /health HTTP/1.1\nHost: t\n\n", 400),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("GET /health HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        ("\u{1}\u{2}\u{3} garbage\r\n\r\n", 400),
    ])
    func refusesWithTheRightStatus(request: String, status: Int) throws {
        try withServer(http: Self.small) { _, port in
            let bystander = try TestSocket(port: port)
            #expect(try bystander.exchange(get).status == 200)

            let client = try TestSocket(port: port)
            try client.send(request)
            let response = try client.receiveResponse()
            #expect(response.status == status)
            #expect(response.header("connection") == "close")
            #expect(client.isClosedByPeer())

            #expect(try bystander.exchange(get).status == 200)
        }
    }

    @Test func incompleteHeadGets408InTime() throws {
        try withServer(http: Self.small) { _, port in
            let client = try TestSocket(port: port)
            try client.send("GET /health HTTP/1.1\r\nHost: t\r\n")
            let response = try client.receiveResponse()
            #expect(response.status == 408)
            #expect(client.isClosedByPeer())
        }
    }

    @Test func tricklingBytesDoNotExtendTheRequestDeadline() throws {
        try withServer(http: Self.small) { _, port in
            let client = try TestSocket(port: port)
            // One byte every 50 ms would take 1.5 s; the deadline is 300 ms.
            var refused = false
            for byte in "GET /health HTTP/1.1\r\nHost: t\r\n\r\n".utf8 {
                try? client.send([byte])
                usleep(50_000)
                if (try? client.receiveSomeNow())?.isEmpty == false { refused = true; break }
            }
            #expect(refused)
        }
    }

    @Test func idleKeepAliveConnectionIsClosedSilently() throws {
        try withServer(http: Self.small) { _, port in
            let client = try TestSocket(port: port)
            #expect(try client.exchange(get).status == 200)
            #expect(try client.receiveUntilClosed().isEmpty)
        }
    }

    @Test func clientThatPipelinesWithoutReadingIsThrottledNotBuffered() throws {
        let tiny = HTTPConfiguration(maxQueuedResponseBytes: 64 * 1024)
        try withServer(loops: 1, http: tiny) { server, port in
            let flooder = try TestSocket(port: port)
            // ~2,000 requests whose responses (~150 bytes each) exceed the
            // limit many times over; the test client does not read them.
            let burst = String(repeating: get, count: 2_000)
            try? flooder.send(burst)
            let bystander = try TestSocket(port: port)
            #expect(try bystander.exchange(get).status == 200)
            // Now read everything: all 2,000 answers arrive, in order.
            var answered = 0
            for _ in 0..<2_000 {
                guard let response = try? flooder.receiveResponse(), response.status == 200 else { break }
                answered += 1
            }
            #expect(answered == 2_000)
        }
    }
}

extension TestSocket {
    /// Whatever is readable right now (waits at most 1 ms).
    func receiveSomeNow() throws -> [UInt8] {
        let saved = timeoutMilliseconds
        timeoutMilliseconds = 1
        defer { timeoutMilliseconds = saved }
        return (try? receiveSome()) ?? []
    }
}
