import SwitchboardIO
import SwitchboardWire

extension SharedBytes {
    /// One unmasked frame: header and payload in one buffer; RSV1 marks a
    /// `compressed` payload (RFC 7692 §6).
    static func webSocketFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, compressed: Bool = false) -> SharedBytes {
        SharedBytes(count: WebSocketFrame.serverHeaderSize(payloadLength: payload.count) + payload.count) { target in
            WebSocketFrame.writeServerFrame(opcode: opcode, rsv1: compressed, payload: payload, into: target)
        }
    }
}
