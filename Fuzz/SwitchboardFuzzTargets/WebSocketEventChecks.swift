import SwitchboardWire

/// What every event of a session must satisfy, whatever the client sent.
enum WebSocketEventChecks {
    /// The codes RFC 6455 §7.4.1 gives the session's own failures: protocol
    /// error, invalid payload data, message too big.
    static let failureCodes: Set<WebSocketCloseCode> = [.protocolError, .invalidPayload, .messageTooBig]

    static func check(_ event: WebSocketEvent, options: WebSocketSessionOptions) throws(PropertyViolation) {
        switch event {
        case .message(let opcode, let payload, let compressed):
            try require(opcode == .text || opcode == .binary, "a message with opcode \(opcode)")
            try require(payload.count <= options.maxMessageSize, "a \(payload.count)-byte message passed the limit")
            try require(!compressed || options.allowsCompressedMessages, "a compressed message without permessage-deflate")
            if opcode == .text && !compressed {
                try require(String(validating: payload, as: UTF8.self) != nil, "a text message that is not UTF-8")
            }
        case .ping(let payload), .pong(let payload):
            try require(payload.count <= WebSocketFrame.maxControlPayloadSize, "a \(payload.count)-byte control frame")
        case .closed(let code, let reason):
            if let code {
                try require(code.isSendable, "the peer's close code \(code) was accepted")
            } else {
                try require(reason.isEmpty, "a reason without a code")
            }
            try require(reason.utf8.count <= WebSocketFrame.maxCloseReasonSize, "a close reason longer than a close frame")
        case .failed(let code, let reason):
            try require(failureCodes.contains(code), "failed with \(code)")
            try require(!reason.isEmpty, "failed without a reason")
        }
    }
}
