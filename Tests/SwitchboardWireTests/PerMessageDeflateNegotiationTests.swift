import Testing

@testable import SwitchboardWire

/// One negotiation: the client's `Sec-WebSocket-Extensions` value, the
/// server's policy, and the response value expected (nil: no compression).
struct NegotiationCase: Sendable, CustomTestStringConvertible {
    let offer: String
    var policy = PerMessageDeflatePolicy(serverNoContextTakeover: true, clientNoContextTakeover: true)
    let response: String?

    var testDescription: String { "\(offer) → \(response ?? "declined")" }

    static let takeover = PerMessageDeflatePolicy(serverNoContextTakeover: false, clientNoContextTakeover: false)
    static let smallWindows = PerMessageDeflatePolicy(
        serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 10
    )
}

private let bothWithout = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

private let negotiationCases: [NegotiationCase] = [
    // Accepted: the default policy asks for no context takeover both ways (RFC 7692 §7.1.1).
    NegotiationCase(offer: "permessage-deflate", response: bothWithout),
    NegotiationCase(offer: "permessage-deflate; client_max_window_bits", response: bothWithout),
    NegotiationCase(offer: "permessage-deflate; client_no_context_takeover; client_max_window_bits", response: bothWithout),
    NegotiationCase(offer: "permessage-deflate", policy: NegotiationCase.takeover, response: "permessage-deflate"),
    NegotiationCase(
        offer: "permessage-deflate; server_no_context_takeover", policy: NegotiationCase.takeover,
        response: "permessage-deflate; server_no_context_takeover"),
    NegotiationCase(
        offer: "permessage-deflate; client_no_context_takeover", policy: NegotiationCase.takeover,
        response: "permessage-deflate; client_no_context_takeover"),
    // Windows: the server uses at most what the client allows (§7.1.2.1) ...
    NegotiationCase(offer: "permessage-deflate; server_max_window_bits=10", response: bothWithout + "; server_max_window_bits=10"),
    NegotiationCase(offer: "permessage-deflate; server_max_window_bits=8", response: bothWithout + "; server_max_window_bits=8"),
    NegotiationCase(offer: "permessage-deflate; server_max_window_bits=15", response: bothWithout),
    NegotiationCase(
        offer: "permessage-deflate; server_max_window_bits=12", policy: NegotiationCase.smallWindows,
        response: "permessage-deflate; server_max_window_bits=10"),
    // ... and limits the client's only when the offer says it can (§7.1.2.2).
    NegotiationCase(
        offer: "permessage-deflate; client_max_window_bits", policy: NegotiationCase.smallWindows,
        response: "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"),
    NegotiationCase(
        offer: "permessage-deflate", policy: NegotiationCase.smallWindows,
        response: "permessage-deflate; server_max_window_bits=10"),
    NegotiationCase(offer: "permessage-deflate; client_max_window_bits=9", response: bothWithout + "; client_max_window_bits=9"),
    NegotiationCase(offer: "permessage-deflate; client_max_window_bits=\"12\"", response: bothWithout + "; client_max_window_bits=12"),
    // The first acceptable offer wins; others and unknown extensions are skipped.
    NegotiationCase(
        offer: "permessage-deflate; server_max_window_bits=9, permessage-deflate", response: bothWithout + "; server_max_window_bits=9"),
    NegotiationCase(offer: "x-webkit-deflate-frame, permessage-deflate", response: bothWithout),
    NegotiationCase(offer: "permessage-deflate; foo, permessage-deflate; server_max_window_bits=11", response: bothWithout + "; server_max_window_bits=11"),
    NegotiationCase(offer: "PerMessage-Deflate; Server_Max_Window_Bits=11", response: bothWithout + "; server_max_window_bits=11"),
    // Declined (§7.1): unknown parameters, duplicates, values out of range or malformed.
    NegotiationCase(offer: "x-webkit-deflate-frame", response: nil),
    NegotiationCase(offer: "permessage-deflate; foo", response: nil),
    NegotiationCase(offer: "permessage-deflate; server_no_context_takeover; server_no_context_takeover", response: nil),
    NegotiationCase(offer: "permessage-deflate; client_max_window_bits; client_max_window_bits=10", response: nil),
    NegotiationCase(offer: "permessage-deflate; server_no_context_takeover=1", response: nil),
    NegotiationCase(offer: "permessage-deflate; client_no_context_takeover=true", response: nil),
    NegotiationCase(offer: "permessage-deflate; server_max_window_bits", response: nil),
    NegotiationCase(offer: "permessage-deflate; server_max_window_bits=7", response: nil),
    NegotiationCase(offer: "permessage-deflate; server_max_window_bits=16", response: nil),
    NegotiationCase(offer: "permessage-deflate; server_max_window_bits=010", response: nil),
    NegotiationCase(offer: "permessage-deflate; server_max_window_bits=1a", response: nil),
    NegotiationCase(offer: "permessage-deflate; client_max_window_bits=0", response: nil),
    NegotiationCase(offer: "permessage-deflate; client_max_window_bits=99999999999999999999", response: nil),
]

@Suite("permessage-deflate negotiation (RFC 7692 §5, §7.1)")
struct PerMessageDeflateNegotiationTests {
    @Test("offers answered, preferred, declined", arguments: negotiationCases)
    func negotiation(_ row: NegotiationCase) throws {
        let offers = try #require(Array(row.offer.utf8).withUnsafeBytes { WebSocketExtensionParser.parse($0) })
        let agreement = PerMessageDeflateNegotiation.negotiate(offers, policy: row.policy)
        #expect(agreement?.responseValue == row.response)
    }

    @Test("the agreement tells each side's window and context")
    func agreementFields() throws {
        let offers = try #require(
            Array("permessage-deflate; server_max_window_bits=8; client_max_window_bits=9".utf8).withUnsafeBytes {
                WebSocketExtensionParser.parse($0)
            })
        let agreement = try #require(PerMessageDeflateNegotiation.negotiate(offers, policy: NegotiationCase.takeover))
        #expect(agreement.serverMaxWindowBits == 8)
        #expect(agreement.clientMaxWindowBits == 9)
        #expect(!agreement.serverNoContextTakeover)
        #expect(!agreement.clientNoContextTakeover)
    }

    @Test("a session of a connection with compression accepts RSV1 on a message's first frame only")
    func sessionAcceptsCompressedFirstFrame() {
        var session = WebSocketSession(configuration: WebSocketWireConfiguration(allowsCompressedMessages: true))
        session.receive(WebSocketFrame.encode(opcode: .text, payload: [0xF2, 0x48], fin: false, rsv1: true, maskingKey: (1, 2, 3, 4)))
        session.receive(WebSocketFrame.encode(opcode: .continuation, payload: [0xCD, 0xC9, 0xC9, 0x07, 0x00], maskingKey: (1, 2, 3, 4)))
        #expect(session.nextEvent() == .message(.text, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], compressed: true))
        session.receive(WebSocketFrame.encode(opcode: .text, payload: [0x00], fin: false, rsv1: true, maskingKey: (1, 2, 3, 4)))
        session.receive(WebSocketFrame.encode(opcode: .continuation, payload: [0x00], rsv1: true, maskingKey: (1, 2, 3, 4)))
        #expect(session.nextEvent() == .failed(.protocolError, reason: "RSV1 on a continuation frame"))
    }

    @Test("fail(code:reason:) sends one close frame and stops the session")
    func failFromAbove() {
        var session = WebSocketSession()
        session.fail(code: .messageTooBig, reason: "message too big")
        #expect(session.state == .closed)
        #expect(session.takeOutboundBytes() == WebSocketFrame.encode(opcode: .close, payload: WebSocketFrame.closePayload(code: .messageTooBig, reason: "message too big")))
        session.fail(code: .protocolError, reason: "again")
        #expect(!session.hasOutboundBytes)
    }
}
