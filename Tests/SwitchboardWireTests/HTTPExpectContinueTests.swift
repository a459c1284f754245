import Testing
@testable import SwitchboardWire

@Suite("RFC 9110 §10.1.1 Expect: 100-continue")
struct HTTPExpectContinueTests {
    @Test func awaitsContinueOnlyUntilTheFirstBodyByte() throws {
        var parser = HTTPRequestParser()
        parser.receive(Array("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n".utf8))
        #expect(try parser.nextEvent() == nil)
        #expect(parser.isAwaitingContinue)
        parser.receive([0x61])
        #expect(try parser.nextEvent() == nil)
        #expect(!parser.isAwaitingContinue)
        parser.receive([0x62])
        guard case .request(_, let body) = try parser.nextEvent() else {
            Issue.record("expected the request")
            return
        }
        #expect(body == [0x61, 0x62])
        #expect(!parser.isAwaitingContinue)
    }

    /// Found by the http-parser fuzz target: a chunk-size line is body too,
    /// yet the parser kept awaiting 100-continue until chunk data arrived.
    @Test(arguments: ["5", "5\r\n", "0\r\n", "1;ext=v"])
    func awaitsContinueOnlyUntilTheFirstChunkedBodyByte(start: String) throws {
        var parser = HTTPRequestParser()
        parser.receive(Array("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        #expect(try parser.nextEvent() == nil)
        #expect(parser.isAwaitingContinue)
        parser.receive(Array(start.utf8))
        #expect(try parser.nextEvent() == nil)
        let awaiting = parser.isAwaitingContinue
        #expect(!awaiting, "still awaiting after \(start.debugDescription)")
    }

    @Test(arguments: [
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n",  // no Expect
        "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",  // 1.0 clients must not get 1xx
        "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",  // no body to wait for
    ])
    func doesNotAwaitContinueOtherwise(head: String) throws {
        var parser = HTTPRequestParser()
        parser.receive(Array(head.utf8))
        _ = try parser.nextEvent()
        #expect(!parser.isAwaitingContinue)
    }
}
