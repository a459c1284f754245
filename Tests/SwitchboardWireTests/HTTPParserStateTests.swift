import HTTPTypes
import Testing

@testable import SwitchboardWire

/// Pipelining, upgrades, sticky errors and buffer ownership (RFC 9112 §9.3.2, RFC 9110 §7.8).
@Suite("Parser state: pipelining, upgrade, errors, memory")
struct HTTPParserStateTests {
    static let pipelined = [UInt8](
        head("GET /one HTTP/1.1", "Host: example.com")
            + head("POST /two HTTP/1.1", "Host: example.com", "Content-Length: 3") + "abc"
            + head("PUT /three HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked")
            + "2\r\nxy\r\n1\r\nz\r\n0\r\n\r\n"
            + "\r\n"  // a stray CRLF after a body, as old clients send
            + head("DELETE /four HTTP/1.1", "Host: example.com", "Connection: close")
    )

    @Test("pipelined requests come out in order, whole and split at every byte")
    func pipelining() {
        let outcome = parseEverySplit(Self.pipelined)
        #expect(outcome.error == nil)
        #expect(outcome.requests.map { $0.request.path } == ["/one", "/two", "/three", "/four"])
        #expect(outcome.requests.map(\.bodyText) == ["", "abc", "xyz", ""])
        #expect(outcome.requests.map(\.keepAlive) == [true, true, true, false])
    }

    @Test("three requests in one receive are three events")
    func threeInOneReceive() throws {
        var parser = HTTPRequestParser()
        parser.receive([UInt8](head("GET /a HTTP/1.1", "Host: h") + head("GET /b HTTP/1.1", "Host: h") + head("GET /c HTTP/1.1", "Host: h")))
        var paths: [String?] = []
        while case .request(let head, _) = try parser.nextEvent() {
            paths.append(head.request.path)
        }
        #expect(paths == ["/a", "/b", "/c"])
        #expect(!parser.hasPartialRequest)
        #expect(parser.bufferCapacity == 0)
    }

    @Test("a valid request before an invalid one is still returned")
    func validThenInvalid() {
        let input = [UInt8](head("GET /ok HTTP/1.1", "Host: h") + head("GET /bad HTTP/1.1", "Host : h"))
        let outcome = parseEverySplit(input)
        #expect(outcome.requests.map { $0.request.path } == ["/ok"])
        #expect(outcome.error == HTTPRefusal(status: .badRequest, reason: "whitespace before colon"))
    }

    static let upgrade = head(
        "GET /chat HTTP/1.1", "Host: example.com", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Version: 13"
    )

    @Test("an upgrade request pauses the parser and leaves the rest for the new protocol")
    func upgradePausesAndHandsOverBytes() throws {
        let frame: [UInt8] = [0x81, 0x85, 0x01, 0x02, 0x03, 0x04, 0x69, 0x67, 0x6F, 0x68, 0x6E]
        var parser = HTTPRequestParser()
        parser.receive([UInt8](Self.upgrade) + frame.prefix(4))
        let event = try #require(try parser.nextEvent())
        guard case .request(let head, let body) = event else { return }
        #expect(head.isUpgradeRequest)
        #expect(body.isEmpty)
        #expect(parser.isPausedForUpgrade)
        #expect(!parser.hasPartialRequest)
        parser.receive(Array(frame.dropFirst(4)))
        #expect(try parser.nextEvent() == nil)
        #expect(parser.takeBufferedBytes() == frame)
        #expect(parser.takeBufferedBytes() == [])
        #expect(parser.bufferCapacity == 0)
    }

    @Test("the upgrade hand-over is the same for every split")
    func upgradeEverySplit() throws {
        let frame: [UInt8] = [0x81, 0x02, 0x68, 0x69]
        let input = [UInt8](Self.upgrade) + frame
        for split in 0...input.count {
            var parser = HTTPRequestParser()
            var upgraded = false
            var handedOver: [UInt8] = []
            for chunk in [input[..<split], input[split...]] {
                if upgraded {
                    handedOver += chunk  // the new protocol reads the socket now
                    continue
                }
                parser.receive(Array(chunk))
                if case .request(let head, _)? = try parser.nextEvent() {
                    upgraded = head.isUpgradeRequest
                    handedOver = parser.takeBufferedBytes()
                }
            }
            #expect(upgraded, "split at \(split)")
            #expect(handedOver == frame, "split at \(split)")
        }
    }

    @Test("a declined upgrade resumes HTTP parsing")
    func declinedUpgradeResumes() throws {
        var parser = HTTPRequestParser()
        parser.receive([UInt8](Self.upgrade + head("GET /next HTTP/1.1", "Host: example.com")))
        guard case .request(let first, _) = try parser.nextEvent() else {
            Issue.record("no upgrade request")
            return
        }
        #expect(first.isUpgradeRequest)
        #expect(try parser.nextEvent() == nil)
        #expect(parser.isPausedForUpgrade)
        parser.resume()
        #expect(!parser.isPausedForUpgrade)
        guard case .request(let second, _) = try parser.nextEvent() else {
            Issue.record("no request after resume")
            return
        }
        #expect(second.request.path == "/next")
        #expect(!second.isUpgradeRequest)
        #expect(!parser.isPausedForUpgrade)
    }

    @Test("an upgrade request with a body returns the body before pausing")
    func upgradeWithBody() throws {
        var parser = HTTPRequestParser()
        parser.receive([UInt8](head("POST / HTTP/1.1", "Host: h", "Connection: upgrade", "Upgrade: h2c", "Content-Length: 2") + "hiPRI"))
        guard case .request(let head, let body) = try parser.nextEvent() else {
            Issue.record("no request")
            return
        }
        #expect(head.isUpgradeRequest)
        #expect(body == [UInt8]("hi"))
        #expect(parser.takeBufferedBytes() == [UInt8]("PRI"))
    }

    @Test("errors are sticky, even after more valid input")
    func stickyErrors() {
        var parser = HTTPRequestParser()
        parser.receive([UInt8]("GET / HTTP/1.1\nHost: h\r\n\r\n"))
        let expected = HTTPRefusal(status: .badRequest, reason: "bare LF")
        #expect(throws: expected) { try parser.nextEvent() }
        parser.receive([UInt8](head("GET / HTTP/1.1", "Host: h")))
        #expect(throws: expected) { try parser.nextEvent() }
        #expect(throws: expected) { try parser.nextEvent() }
        #expect(!parser.hasPartialRequest)
        #expect(parser.bufferCapacity == 0)
        #expect(parser.takeBufferedBytes() == [])
        #expect(throws: expected) { try parser.nextEvent() }
    }

    @Test("hasPartialRequest follows the request, not the connection")
    func partialRequest() throws {
        var parser = HTTPRequestParser()
        #expect(!parser.hasPartialRequest)
        #expect(try parser.nextEvent() == nil)
        #expect(!parser.hasPartialRequest)

        parser.receive([UInt8]("GE"))
        #expect(parser.hasPartialRequest)
        #expect(try parser.nextEvent() == nil)
        #expect(parser.hasPartialRequest)

        parser.receive([UInt8]("T / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n"))
        #expect(try parser.nextEvent() == nil)
        #expect(parser.hasPartialRequest, "waiting for the body")

        parser.receive([UInt8]("ok"))
        #expect(try parser.nextEvent() != nil)
        #expect(!parser.hasPartialRequest)

        parser.receive([UInt8]("\r\n"))
        #expect(try parser.nextEvent() == nil)
        #expect(!parser.hasPartialRequest, "a stray CRLF between requests is skipped")
        #expect(parser.bufferCapacity == 0)

        parser.receive([UInt8]("\r"))
        #expect(try parser.nextEvent() == nil)
        #expect(parser.hasPartialRequest)
    }

    @Test("an idle parser holds no buffer storage")
    func idleHoldsNoHeap() throws {
        var parser = HTTPRequestParser()
        for _ in 0..<3 {
            parser.receive([UInt8](head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: chunked") + "3\r\nabc\r\n0\r\n\r\n"))
            #expect(try parser.nextEvent() != nil)
            #expect(try parser.nextEvent() == nil)
            #expect(parser.bufferCapacity == 0)
            #expect(parser.unconsumedByteCount == 0)
        }
    }

    @Test("pipelining in small reads does not grow the buffer")
    func compaction() throws {
        let request = [UInt8](head("POST /p HTTP/1.1", "Host: h", "Content-Length: 10") + "0123456789")
        let stream = Array(repeatElement(request, count: 200).joined())
        var parser = HTTPRequestParser()
        var count = 0
        var largestCapacity = 0
        var offset = 0
        while offset < stream.count {
            // Reads that straddle requests, so the buffer always holds a partial one.
            let end = min(stream.count, offset + 37)
            parser.receive(Array(stream[offset..<end]))
            offset = end
            while try parser.nextEvent() != nil { count += 1 }
            largestCapacity = max(largestCapacity, parser.bufferCapacity)
        }
        #expect(count == 200)
        #expect(largestCapacity <= 4 * request.count)
        #expect(parser.bufferCapacity == 0)
    }

    @Test("a head keeps its fields while the parser reads on, compacts and reuses its buffer")
    func headsOutliveTheParsersBuffer() throws {
        // The head shares the parser's buffer (from the head's offset on)
        // instead of copying it: later receives must not change what it reads.
        var parser = HTTPRequestParser()
        let first = head("GET /a HTTP/1.1", "Host: one", "X-First: 1")
        let second = head("GET /b HTTP/1.1", "Host: two", "X-Second: 22")
        // The second head lies after the first in one buffer, the third
        // starts in it and ends after it is compacted.
        parser.receive([UInt8](first + second + "GET /c HTTP/1.1\r\nHost: th"))
        guard case .request(let a, _) = try parser.nextEvent() else { Issue.record("no first request"); return }
        guard case .request(let b, _) = try parser.nextEvent() else { Issue.record("no second request"); return }
        parser.receive([UInt8]("ree\r\nX-Third: 333\r\n\r\n"))
        guard case .request(let c, _) = try parser.nextEvent() else { Issue.record("no third request"); return }
        func fields(_ head: HTTPRequestHead) -> [String] {
            var names: [String] = []
            head.forEachField { name, value in names.append(String(decoding: name, as: UTF8.self) + "=" + String(decoding: value, as: UTF8.self)) }
            return names
        }
        #expect(fields(a) == ["X-First=1"])
        #expect(fields(b) == ["X-Second=22"])
        #expect(fields(c) == ["X-Third=333"])
        #expect([a, b, c].map(\.authority) == ["one", "two", "three"])
        #expect([a, b, c].map { $0.request.headerFields.map(\.value) } == [["1"], ["22"], ["333"]])
    }

    @Test("takeBufferedBytes drops a partly parsed request")
    func takeDropsPartialRequest() throws {
        var parser = HTTPRequestParser()
        parser.receive([UInt8]("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab"))
        #expect(try parser.nextEvent() == nil)
        #expect(parser.takeBufferedBytes() == [UInt8]("ab"))
        #expect(!parser.hasPartialRequest)
        parser.receive([UInt8](head("GET /fresh HTTP/1.1", "Host: h")))
        guard case .request(let head, _) = try parser.nextEvent() else {
            Issue.record("no request")
            return
        }
        #expect(head.request.path == "/fresh")
    }

    @Test("receive from a raw buffer")
    func receiveRawBuffer() throws {
        var parser = HTTPRequestParser()
        let bytes = [UInt8](head("GET /raw HTTP/1.1", "Host: h"))
        bytes.withUnsafeBytes { parser.receive($0) }
        guard case .request(let head, _) = try parser.nextEvent() else {
            Issue.record("no request")
            return
        }
        #expect(head.request.path == "/raw")
    }
}
