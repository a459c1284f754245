import SwitchboardWire

/// `websocket-session`: the server side of a connection after the
/// handshake. The first input byte is a ``WebSocketSessionOptions`` (with
/// or without permessage-deflate, the size limit, when the application
/// closes); the rest is what the client sends.
///
/// Fed whole, byte by byte and in pseudo-random pieces, the session must
/// report the same events and queue the same bytes at the same events;
/// each event passes ``WebSocketEventChecks`` and what it queued passes
/// ``WebSocketOutboundChecks``. Compressed messages go through the
/// connection's inflate step (``InflateChecks``) and every message makes a
/// deflate round trip (``DeflateRoundTrip``).
enum WebSocketSessionTarget {
    static let target = FuzzTarget(
        name: "websocket-session",
        summary: "WebSocketSession (server): whole vs split, replies, inflate limits",
        check: check
    )

    static func check(_ input: [UInt8]) throws(PropertyViolation) {
        guard let first = input.first else { return }
        let options = WebSocketSessionOptions(first)
        let stream = Array(input.dropFirst())
        let whole = try WebSocketSessionTranscript.record(InputSplits.whole(stream), options: options)
        let bytes = try WebSocketSessionTranscript.record(InputSplits.bytes(stream), options: options)
        let random = try WebSocketSessionTranscript.record(InputSplits.random(stream, salt: 2), options: options)
        for (name, other) in [("byte by byte", bytes), ("in random pieces", random)] {
            try require(
                other.steps.map(\.event) == whole.steps.map(\.event),
                "fed \(name): events \(other.steps.map(\.event)) != whole: \(whole.steps.map(\.event))"
            )
            try require(other == whole, "fed \(name): different bytes queued than fed whole")
        }
        try WebSocketOutboundChecks.check(whole, options: options)

        var compressed: [[UInt8]] = []
        var plain: [[UInt8]] = []
        for step in whole.steps {
            guard case .message(_, let payload, let isCompressed) = step.event else { continue }
            if isCompressed { compressed.append(payload) } else { plain.append(payload) }
        }
        try InflateChecks.check(compressed, options: options)
        try DeflateRoundTrip.check(plain + compressed, options: options)
    }
}
