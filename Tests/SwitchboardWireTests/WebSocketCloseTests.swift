import Testing

@testable import SwitchboardWire

@Suite("RFC 6455 §7.4: close codes")
struct WebSocketCloseCodeTests {
    @Test("sendable codes: 1000–1003, 1007–1014, 3000–4999")
    func sendable() {
        let sendable: [UInt16] = [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
        ]
        let notSendable: [UInt16] = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
        for code in sendable { #expect(WebSocketCloseCode(code).isSendable, "\(code)") }
        for code in notSendable { #expect(!WebSocketCloseCode(code).isSendable, "\(code)") }
        let exhaustive = (0...UInt16.max).filter { WebSocketCloseCode($0).isSendable }.count
        #expect(exhaustive == 4 + 8 + 2000)
    }

    @Test("named codes have their registered values")
    func values() {
        let named: [(WebSocketCloseCode, UInt16)] = [
            (.normalClosure, 1000), (.goingAway, 1001), (.protocolError, 1002), (.unsupportedData, 1003),
            (.noStatusReceived, 1005), (.abnormalClosure, 1006), (.invalidPayload, 1007), (.policyViolation, 1008),
            (.messageTooBig, 1009), (.mandatoryExtension, 1010), (.internalError, 1011), (.serviceRestart, 1012),
            (.tryAgainLater, 1013), (.badGateway, 1014), (.tlsHandshakeFailure, 1015),
        ]
        for (code, value) in named { #expect(code.rawValue == value) }
        #expect(!WebSocketCloseCode.noStatusReceived.isSendable)
        #expect(!WebSocketCloseCode.abnormalClosure.isSendable)
        #expect(WebSocketCloseCode.unknown(4321) == WebSocketCloseCode(4321))
        #expect(WebSocketCloseCode.messageTooBig.description == "1009 (message too big)")
        #expect(WebSocketCloseCode(4321).description == "4321")
    }
}

@Suite("RFC 6455 §5.5.1, §7.1: closing handshake")
struct WebSocketClosingHandshakeTests {
    @Test(
        "the peer closes: the code is echoed and the session is closed",
        arguments: [1000, 1001, 1003, 1011, 1014, 3000, 4999] as [UInt16])
    func peerCloses(_ code: UInt16) {
        let outcome = runEverySplit(clientClose(code, "bye"))
        #expect(outcome.events == [.closed(code: WebSocketCloseCode(code), reason: "bye")])
        #expect(outcome.outbound == serverClose(code))
        #expect(outcome.state == .closed)
    }

    @Test("an empty close is answered with an empty close and reported without a code")
    func emptyClose() {
        let outcome = runEverySplit(clientFrame(.close))
        #expect(outcome.events == [.closed(code: nil, reason: "")])
        #expect(outcome.outbound == [0x88, 0x00])
        #expect(outcome.state == .closed)
    }

    @Test("a close with a 123-byte UTF-8 reason is accepted")
    func longestReason() {
        let reason = String(repeating: "é", count: 61) + "x"
        #expect(reason.utf8.count == 123)
        let outcome = runEverySplit(clientClose(1000, reason))
        #expect(outcome.events == [.closed(code: .normalClosure, reason: reason)])
        #expect(outcome.outbound == serverClose(1000))
    }

    @Test("bytes after the peer's close are ignored")
    func afterClose() {
        let input =
            clientFrame(.text, text: "before") + clientClose(1000) + clientFrame(.text, text: "after")
            + clientFrame(.ping)
        let outcome = runEverySplit(input)
        #expect(outcome.events == [textMessage("before"), .closed(code: .normalClosure, reason: "")])
        #expect(outcome.outbound == serverClose(1000))
    }

    @Test("a close interrupting a fragmented message ends the session")
    func closeMidMessage() {
        let input = clientFrame(.text, text: "par", fin: false) + clientClose(1001)
        let outcome = runEverySplit(input)
        #expect(outcome.events == [.closed(code: .goingAway, reason: "")])
        #expect(outcome.outbound == serverClose(1001))
        #expect(outcome.bufferedByteCount == 0)
    }

    @Test(
        "close codes that must not be sent fail with 1002",
        arguments: [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535] as [UInt16]
    )
    func invalidCode(_ code: UInt16) {
        ViolationCase("\(code)", clientClose(code), 1002, "invalid close code").check()
    }

    @Test("a close reason that is not UTF-8 fails with 1007")
    func invalidReason() {
        let cases: [[UInt8]] = [[0xFF], [0x61, 0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82]]
        for reason in cases {
            ViolationCase(
                "\(reason)", clientFrame(.close, [0x03, 0xE8] + reason), 1007, "invalid UTF-8 in close reason"
            ).check()
        }
    }

    @Test("the application closes first: close frame queued, data still delivered, the peer's close ends it")
    func applicationClosesFirst() {
        let input =
            clientFrame(.text, text: "late") + clientFrame(.ping, [1]) + clientClose(1001, "ok")
            + clientFrame(.text, text: "ignored")
        let outcome = runEverySplit(input) { $0.close(code: .goingAway, reason: "shutdown") }
        #expect(outcome.events == [textMessage("late"), .ping([1]), .closed(code: .goingAway, reason: "ok")])
        // Our close frame only: no pong after it, no reply to the peer's close.
        #expect(outcome.outbound == serverClose(1001, "shutdown"))
        #expect(outcome.state == .closed)
    }

    @Test("state moves open → closing → closed; close is a no-op unless open")
    func states() {
        var session = WebSocketSession()
        #expect(session.state == .open)
        session.close(code: .normalClosure, reason: "")
        #expect(session.state == .closing)
        session.close(code: .goingAway, reason: "again")
        #expect(session.takeOutboundBytes() == serverClose(1000))
        session.receive(clientFrame(.close))
        #expect(session.nextEvent() == .closed(code: nil, reason: ""))
        #expect(session.state == .closed)
        session.close(code: .normalClosure, reason: "")
        #expect(!session.hasOutboundBytes)
        #expect(session.nextEvent() == nil)
        #expect(session.storageCapacity == 0)
    }

    @Test("a protocol error after the application's close queues no second close frame")
    func errorWhileClosing() {
        let outcome = runEverySplit(clientFrame(.continuation, [1])) { $0.close(code: .normalClosure, reason: "") }
        #expect(outcome.events == [.failed(.protocolError, reason: "continuation without a message")])
        #expect(outcome.outbound == serverClose(1000))
        #expect(outcome.state == .closed)
    }

    @Test("the application's reason is cut to 123 bytes; an unsendable code sends an empty close")
    func applicationCloseFrames() {
        var session = WebSocketSession()
        session.close(code: .internalError, reason: String(repeating: "ü", count: 100))
        #expect(session.takeOutboundBytes() == serverClose(1011, String(repeating: "ü", count: 61)))
        var other = WebSocketSession()
        other.close(code: .noStatusReceived, reason: "ignored")
        #expect(other.takeOutboundBytes() == [0x88, 0x00])
        var app = WebSocketSession()
        app.close(code: .unknown(4000), reason: "custom")
        #expect(app.takeOutboundBytes() == serverClose(4000, "custom"))
    }

    @Test("a failure queues exactly one close frame with the code and reason")
    func failureFrame() {
        var session = WebSocketSession()
        session.receive([0x81, 0x00] + clientClose(1000))
        #expect(session.nextEvent() == .failed(.protocolError, reason: "unmasked client frame"))
        #expect(session.nextEvent() == nil)
        #expect(session.state == .closed)
        #expect(session.takeOutboundBytes() == [0x88, 0x17, 0x03, 0xEA] + Array("unmasked client frame".utf8))
        #expect(session.storageCapacity == 0)
    }
}
