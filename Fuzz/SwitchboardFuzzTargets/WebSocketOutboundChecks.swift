import SwitchboardWire

/// What the session sends must answer what it received (RFC 6455 §5.5):
/// one pong with the same data for each ping while open and none after the
/// server's close, the peer's close code echoed, a failure's own code, the
/// application's close with its reason cut at a character, and nothing at
/// all after the one close frame.
enum WebSocketOutboundChecks {
    static func check(_ transcript: WebSocketSessionTranscript, options: WebSocketSessionOptions) throws(PropertyViolation) {
        try require(transcript.leadingOutbound.isEmpty, "bytes queued before any input")
        var closeSent = false
        for (index, step) in transcript.steps.enumerated() {
            let frames = try ServerFrameReader.frames(step.outbound)
            try require(!closeSent || frames.isEmpty, "frames sent after the close frame")
            var expected: [ServerFrameReader.Frame] = []
            switch step.event {
            case .ping(let payload) where step.wasOpen:
                expected.append(.init(opcode: .pong, payload: payload))
            case .closed(let code, _) where step.wasOpen:
                expected.append(.init(opcode: .close, payload: code.map { WebSocketFrame.closePayload(code: $0, reason: "") } ?? []))
            case .failed(let code, let reason) where step.wasOpen:
                expected.append(.init(opcode: .close, payload: WebSocketFrame.closePayload(code: code, reason: reason)))
            default:
                break
            }
            let appClosed = index + 1 == options.closeAfterEvent && step.wasOpen && !step.event.endsSession
            if appClosed {
                try require(frames.last?.opcode == .close, "no close frame after the application closed")
                try checkApplicationClose(frames.last!.payload, options: options)
                try require(Array(frames.dropLast()) == expected, "sent \(frames.dropLast()) for \(step.event)")
            } else {
                try require(frames == expected, "sent \(frames) for \(step.event), expected \(expected)")
            }
            for frame in frames where frame.opcode == .close {
                _ = try ServerFrameReader.closeCodeAndReason(frame.payload)
                closeSent = true
            }
        }
    }

    /// 1000 and the reason's longest prefix of whole characters that fits in 123 bytes.
    private static func checkApplicationClose(_ payload: [UInt8], options: WebSocketSessionOptions) throws(PropertyViolation) {
        guard let (code, reason) = try ServerFrameReader.closeCodeAndReason(payload) else {
            throw PropertyViolation("the application's close frame has no code")
        }
        try require(code == .normalClosure, "the application closed with \(code)")
        let full = options.closeReason
        try require(full.hasPrefix(reason), "close reason \(reason) is not a prefix of the application's")
        if reason != full {
            let next = full.dropFirst(reason.count).first!
            try require(
                reason.utf8.count + next.utf8.count > WebSocketFrame.maxCloseReasonSize,
                "close reason cut to \(reason.utf8.count) bytes though the next character fits"
            )
        }
    }
}

extension WebSocketEvent {
    /// `.closed` and `.failed` end the session.
    var endsSession: Bool {
        switch self {
        case .closed, .failed: true
        default: false
        }
    }
}
