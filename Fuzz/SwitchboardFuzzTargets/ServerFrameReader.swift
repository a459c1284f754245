import SwitchboardWire

/// Reads the frames a session queued, written here from RFC 6455 §5.2
/// rather than with the code under test. A session only ever sends control
/// frames, so anything else (a fragment, RSV bits, a mask, a long length)
/// is reported as malformed.
enum ServerFrameReader {
    struct Frame: Equatable {
        var opcode: WebSocketOpcode
        var payload: [UInt8]
    }

    static func frames(_ bytes: [UInt8]) throws(PropertyViolation) -> [Frame] {
        var frames: [Frame] = []
        var index = 0
        while index < bytes.count {
            try require(bytes.count - index >= 2, "a frame header cut short")
            let first = bytes[index]
            let second = bytes[index + 1]
            // RFC 6455 §5.5: control frames are final; §5.2: no RSV bits unnegotiated.
            try require(first & 0xF0 == 0x80, "server frame with FIN/RSV bits \(first >> 4)")
            // RFC 6455 §5.1: "A server MUST NOT mask any frames".
            try require(second & 0x80 == 0, "a masked server frame")
            let length = Int(second)
            try require(length <= WebSocketFrame.maxControlPayloadSize, "a \(length)-byte control frame")
            try require(bytes.count - index - 2 >= length, "a frame payload cut short")
            let opcode = WebSocketOpcode(rawValue: first & 0x0F)
            try require(opcode == .pong || opcode == .close, "the session sent opcode \(first & 0x0F)")
            frames.append(Frame(opcode: opcode!, payload: Array(bytes[(index + 2)..<(index + 2 + length)])))
            index += 2 + length
        }
        return frames
    }

    /// A close payload (RFC 6455 §5.5.1): empty, or a sendable code and a
    /// UTF-8 reason of at most 123 bytes.
    static func closeCodeAndReason(_ payload: [UInt8]) throws(PropertyViolation) -> (WebSocketCloseCode, String)? {
        guard !payload.isEmpty else { return nil }
        try require(payload.count >= 2, "a 1-byte close payload")
        let code = WebSocketCloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
        try require(code.isSendable, "the session sent close code \(code)")
        guard let reason = String(validating: payload[2...], as: UTF8.self) else {
            throw PropertyViolation("a close reason that is not UTF-8")
        }
        return (code, reason)
    }
}
