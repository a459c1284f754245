import SwitchboardWire

/// Everything one way of feeding client bytes to a ``WebSocketSession``
/// produced: each event with the bytes the session queued by the time it
/// was returned, comparable with another way of feeding the same bytes.
struct WebSocketSessionTranscript: Equatable {
    struct Step: Equatable {
        var event: WebSocketEvent
        /// What `takeOutboundBytes()` returned after this event (and after
        /// the application's close, when it closed here).
        var outbound: [UInt8]
        /// Whether the session was open when the event arrived.
        var wasOpen: Bool
    }

    var steps: [Step] = []
    /// Outbound bytes queued before any event (none are expected).
    var leadingOutbound: [UInt8] = []

    var outbound: [UInt8] { leadingOutbound + steps.flatMap(\.outbound) }

    /// Feeds `pieces` in order, draining events after each, acting as the
    /// application that `options` describes, and checks what must hold
    /// within one run.
    static func record(
        _ pieces: [ArraySlice<UInt8>],
        options: WebSocketSessionOptions
    ) throws(PropertyViolation) -> WebSocketSessionTranscript {
        var session = WebSocketSession(configuration: options.configuration)
        var transcript = WebSocketSessionTranscript()
        transcript.leadingOutbound = session.takeOutboundBytes()
        // Odd pieces are parsed in place (as the server does with its read
        // buffer), then scribbled over once the session has kept the rest:
        // a session still reading them would see the scribbles.
        for (index, piece) in pieces.enumerated() {
            if index % 2 == 0 {
                session.receive(Array(piece))
                try drain(&session, into: &transcript, options: options)
            } else {
                var scratch = Array(piece)
                let failure = scratch.withUnsafeMutableBytes { bytes -> PropertyViolation? in
                    session.receive(inPlace: bytes)
                    defer {
                        session.keepUnconsumedInput()
                        bytes.initializeMemory(as: UInt8.self, repeating: 0xA5)
                    }
                    do throws(PropertyViolation) {
                        try drain(&session, into: &transcript, options: options, lending: true)
                    } catch {
                        return error
                    }
                    return nil
                }
                if let failure { throw failure }
            }
        }
        return transcript
    }

    private static func drain(
        _ session: inout WebSocketSession, into transcript: inout WebSocketSessionTranscript, options: WebSocketSessionOptions,
        lending: Bool = false
    ) throws(PropertyViolation) {
        while true {
            let wasOpen = session.state == .open
            let next: WebSocketEvent?
            if lending, let (opcode, payload) = session.nextSmallMessage() {
                // The server's fast path first, as it drains.
                next = .message(opcode, Array(payload), compressed: false)
            } else if lending {
                // Lent payloads are copied at once, as a handler that keeps them would.
                next = session.nextLentEvent().map { lent in
                    switch lent {
                    case .message(let opcode, let payload, let compressed): .message(opcode, Array(payload), compressed: compressed)
                    case .other(let event): event
                    }
                }
            } else {
                next = session.nextEvent()
            }
            guard let event = next else { break }
            try WebSocketEventChecks.check(event, options: options)
            if transcript.steps.count + 1 == options.closeAfterEvent {
                session.close(code: .normalClosure, reason: options.closeReason)
            }
            transcript.steps.append(Step(event: event, outbound: session.takeOutboundBytes(), wasOpen: wasOpen))
            switch event {
            case .closed, .failed:
                try checkStopped(&session)
            default:
                try require(session.state != .closed, "closed after \(event)")
            }
        }
    }

    /// After the peer's close or a failure nothing more is parsed, held or sent.
    private static func checkStopped(_ session: inout WebSocketSession) throws(PropertyViolation) {
        try require(session.state == .closed, "state \(session.state) after the session ended")
        try require(session.bufferedByteCount == 0, "\(session.bufferedByteCount) bytes held after the session ended")
        session.receive([0x89, 0x80, 0, 0, 0, 0])  // a masked, empty ping
        let event = session.nextEvent()
        try require(event == nil, "\(String(describing: event)) after the session ended")
        try require(!session.hasOutboundBytes, "bytes queued after the session ended")
    }
}
