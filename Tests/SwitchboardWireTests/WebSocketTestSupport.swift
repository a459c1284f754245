import Testing

@testable import SwitchboardWire

/// The masking key of every client frame in these tests: fixed, so inputs are deterministic,
/// and with four different bytes, so a key applied at the wrong offset shows.
let testMaskingKey: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xFA, 0x21, 0x3D)

/// A masked frame as a client sends it.
func clientFrame(
    _ opcode: WebSocketOpcode,
    _ payload: [UInt8] = [],
    fin: Bool = true,
    rsv1: Bool = false
) -> [UInt8] {
    WebSocketFrame.encode(opcode: opcode, payload: payload, fin: fin, rsv1: rsv1, maskingKey: testMaskingKey)
}

/// A masked frame with a UTF-8 payload.
func clientFrame(_ opcode: WebSocketOpcode, text: String, fin: Bool = true) -> [UInt8] {
    clientFrame(opcode, Array(text.utf8), fin: fin)
}

/// A masked frame with raw first header byte (FIN, RSV and opcode bits as given), for frames
/// the encoder would not write.
func clientFrame(firstByte: UInt8, _ payload: [UInt8] = []) -> [UInt8] {
    var frame = clientFrame(.binary, payload)
    frame[0] = firstByte
    return frame
}

/// A masked close frame with a code and reason.
func clientClose(_ code: UInt16, _ reason: String = "") -> [UInt8] {
    clientFrame(.close, WebSocketFrame.closePayload(code: WebSocketCloseCode(code), reason: reason))
}

/// What the session produced for some input, comparable as a whole.
struct SessionOutcome: Equatable, CustomStringConvertible {
    var events: [WebSocketEvent] = []
    var outbound: [UInt8] = []
    var state = WebSocketSession.State.open
    var bufferedByteCount = 0

    var description: String {
        "events=\(events) outbound=\(outbound) state=\(state) buffered=\(bufferedByteCount)"
    }
}

/// Feeds `chunks` in order, draining events and outbound bytes after each. With `inPlace`,
/// every other chunk (the first included) goes through `receive(inPlace:)` and is scribbled
/// over once the session has kept what it left, as the server's read buffer is, and events
/// are taken with lent payloads (`nextLentEvent()`), as the server takes them.
///
/// `prepare` runs on the new session before any input (say, to call `close`). Once the session
/// is closed, checks that it ignores more input and holds nothing.
func runSession(
    chunks: [ArraySlice<UInt8>],
    configuration: WebSocketWireConfiguration = .init(),
    inPlace: Bool = false,
    prepare: (inout WebSocketSession) -> Void = { _ in },
    sourceLocation: SourceLocation = #_sourceLocation
) -> SessionOutcome {
    var session = WebSocketSession(configuration: configuration)
    prepare(&session)
    var outcome = SessionOutcome()
    for (index, chunk) in chunks.enumerated() {
        if inPlace && index % 2 == 0 {
            var scratch = Array(chunk)
            scratch.withUnsafeMutableBytes { bytes in
                session.receive(inPlace: bytes)
                drainLending(&session, into: &outcome)
                session.keepUnconsumedInput()
                bytes.initializeMemory(as: UInt8.self, repeating: 0xA5)
            }
        } else if inPlace {
            session.receive(Array(chunk))
            drainLending(&session, into: &outcome)
        } else {
            session.receive(Array(chunk))
            while let event = session.nextEvent() { outcome.events.append(event) }
        }
        outcome.outbound += session.takeOutboundBytes()
        #expect(!session.hasOutboundBytes, sourceLocation: sourceLocation)
    }
    outcome.state = session.state
    outcome.bufferedByteCount = session.bufferedByteCount
    if session.state == .closed {
        session.receive(clientFrame(.ping, [1, 2, 3]))
        #expect(session.nextEvent() == nil, "closed sessions ignore input", sourceLocation: sourceLocation)
        #expect(!session.hasOutboundBytes, sourceLocation: sourceLocation)
        #expect(session.bufferedByteCount == 0, sourceLocation: sourceLocation)
        #expect(session.storageCapacity == 0, sourceLocation: sourceLocation)
    }
    return outcome
}

/// Drains events as the server does, `nextSmallMessage()` first, then `nextLentEvent()`,
/// copying each lent payload at once.
private func drainLending(_ session: inout WebSocketSession, into outcome: inout SessionOutcome) {
    while true {
        if let (opcode, payload) = session.nextSmallMessage() {
            outcome.events.append(.message(opcode, Array(payload), compressed: false))
            continue
        }
        guard let lent = session.nextLentEvent() else { break }
        switch lent {
        case .message(let opcode, let payload, let compressed):
            outcome.events.append(.message(opcode, Array(payload), compressed: compressed))
        case .other(let event):
            outcome.events.append(event)
        }
    }
}

/// Runs `input` whole, split in two at every byte boundary, and byte by byte; expects every
/// run to give the same events, outbound bytes and state, and returns that outcome.
@discardableResult
func runEverySplit(
    _ input: [UInt8],
    configuration: WebSocketWireConfiguration = .init(),
    prepare: (inout WebSocketSession) -> Void = { _ in },
    sourceLocation: SourceLocation = #_sourceLocation
) -> SessionOutcome {
    let whole = runSession(
        chunks: [input[...]], configuration: configuration, prepare: prepare, sourceLocation: sourceLocation)
    let wholeInPlace = runSession(
        chunks: [input[...]], configuration: configuration, inPlace: true, prepare: prepare, sourceLocation: sourceLocation)
    #expect(wholeInPlace == whole, "whole, parsed in place", sourceLocation: sourceLocation)
    var mismatches = 0
    for split in 1..<max(1, input.count) where mismatches < 3 {
        let outcome = runSession(
            chunks: [input[..<split], input[split...]],
            configuration: configuration,
            inPlace: split % 2 == 1,
            prepare: prepare,
            sourceLocation: sourceLocation
        )
        if outcome != whole {
            mismatches += 1
            Issue.record("split at \(split): \(outcome) != \(whole)", sourceLocation: sourceLocation)
        }
    }
    let byteByByte = runSession(
        chunks: input.indices.map { input[$0...$0] },
        configuration: configuration,
        inPlace: true,
        prepare: prepare,
        sourceLocation: sourceLocation
    )
    #expect(byteByByte == whole, "byte by byte", sourceLocation: sourceLocation)
    return whole
}

/// An unmasked frame as the server sends it, spelled out without the encoder under test
/// where the tests check exact bytes.
func serverClose(_ code: UInt16, _ reason: String = "") -> [UInt8] {
    let reasonBytes = Array(reason.utf8)
    return [0x88, UInt8(2 + reasonBytes.count), UInt8(code >> 8), UInt8(code & 0xFF)] + reasonBytes
}

/// A table row: input that must fail the connection with this code and reason.
struct ViolationCase: Sendable, CustomTestStringConvertible {
    let name: String
    let input: [UInt8]
    let code: UInt16
    let reason: String
    var configuration = WebSocketWireConfiguration()
    /// Events expected before the failure.
    var before: [WebSocketEvent] = []

    init(_ name: String, _ input: [UInt8], _ code: UInt16, _ reason: String) {
        self.name = name
        self.input = input
        self.code = code
        self.reason = reason
    }

    var testDescription: String { name }

    func with(_ change: (inout ViolationCase) -> Void) -> ViolationCase {
        var copy = self
        change(&copy)
        return copy
    }

    /// Runs the row at every split: the events are ``before`` then the failure, the outbound
    /// bytes are pongs for the pings in ``before`` then the close frame with the code and
    /// reason, and the session is closed.
    func check(sourceLocation: SourceLocation = #_sourceLocation) {
        let outcome = runEverySplit(input, configuration: configuration, sourceLocation: sourceLocation)
        let expected = before + [.failed(WebSocketCloseCode(code), reason: reason)]
        #expect(outcome.events == expected, sourceLocation: sourceLocation)
        // Pongs for the pings before the failure, then the close frame.
        let pongs = before.flatMap { event -> [UInt8] in
            if case .ping(let payload) = event { return serverPong(payload) }
            return []
        }
        #expect(outcome.outbound == pongs + serverClose(code, reason), sourceLocation: sourceLocation)
        #expect(outcome.state == .closed, sourceLocation: sourceLocation)
    }
}

extension Array where Element == UInt8 {
    /// `count` bytes cycling through 0–250, so payloads are not all one value.
    static func pattern(count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 % 251) }
    }
}

/// The event for an uncompressed text message.
func textMessage(_ text: String) -> WebSocketEvent {
    .message(.text, Array(text.utf8), compressed: false)
}

/// The event for an uncompressed binary message.
func binaryMessage(_ bytes: [UInt8]) -> WebSocketEvent {
    .message(.binary, bytes, compressed: false)
}

/// An unmasked pong as the server sends it.
func serverPong(_ payload: [UInt8]) -> [UInt8] {
    [0x8A, UInt8(payload.count)] + payload
}
