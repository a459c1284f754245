/// Frame encoding (RFC 6455 §5.2): the server's outgoing frames, unmasked (RFC 6455 §5.1),
/// and, for tests and clients, masked ones.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-------+-+-------------+-------------------------------+
/// |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
/// |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
/// |N|V|V|V|       |S|             |   (if payload len==126/127)   |
/// | |1|2|3|       |K|             |                               |
/// +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
/// |     Extended payload length continued, if payload len == 127  |
/// + - - - - - - - - - - - - - - - +-------------------------------+
/// |                               |Masking-key, if MASK set to 1  |
/// +-------------------------------+-------------------------------+
/// ```
public enum WebSocketFrame {
    /// The largest header: 2 bytes, 8 of extended length and 4 of masking key (RFC 6455 §5.2).
    public static let maxHeaderSize = 14

    /// The largest payload of a control frame (RFC 6455 §5.5).
    public static let maxControlPayloadSize = 125

    /// The longest reason in a close frame: a control payload less the 2-byte code
    /// (RFC 6455 §5.5, §5.5.1).
    public static let maxCloseReasonSize = maxControlPayloadSize - 2

    /// The largest length the 7-bit field holds directly; 126 and 127 announce the 16-bit and
    /// 64-bit forms (RFC 6455 §5.2).
    /// (These four are computed and inlinable for the server frame writer below.)
    @inlinable static var maxShortPayloadLength: Int { 125 }
    /// The largest length of the 16-bit form.
    @inlinable static var maxMediumPayloadLength: Int { 0xFFFF }
    /// The 7-bit length value announcing a 16-bit length.
    @inlinable static var mediumLengthMarker: UInt8 { 126 }
    /// The 7-bit length value announcing a 64-bit length.
    @inlinable static var longLengthMarker: UInt8 { 127 }

    /// Appends one frame header to `buffer`: FIN, RSV1, the opcode, the payload length in the
    /// shortest of its three forms (RFC 6455 §5.2 requires the minimal one), and the mask bit
    /// and key when `maskingKey` is given. RSV2 and RSV3 are always 0.
    public static func appendHeader(
        opcode: WebSocketOpcode,
        fin: Bool = true,
        rsv1: Bool = false,
        payloadLength: Int,
        maskingKey: (UInt8, UInt8, UInt8, UInt8)? = nil,
        to buffer: inout [UInt8]
    ) {
        precondition(payloadLength >= 0, "negative WebSocket payload length")
        buffer.append((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode.rawValue)
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        if payloadLength <= maxShortPayloadLength {
            buffer.append(maskBit | UInt8(truncatingIfNeeded: payloadLength))
        } else if payloadLength <= maxMediumPayloadLength {
            buffer.append(maskBit | mediumLengthMarker)
            buffer.append(UInt8(truncatingIfNeeded: payloadLength >> 8))
            buffer.append(UInt8(truncatingIfNeeded: payloadLength))
        } else {
            buffer.append(maskBit | longLengthMarker)
            let length = UInt64(payloadLength)
            for shift in stride(from: 56, through: 0, by: -8) {
                buffer.append(UInt8(truncatingIfNeeded: length >> UInt64(shift)))
            }
        }
        if let key = maskingKey {
            buffer.append(key.0)
            buffer.append(key.1)
            buffer.append(key.2)
            buffer.append(key.3)
        }
    }

    /// The size of an unmasked server frame's header for `payloadLength`
    /// (2, 4 or 10 bytes: RFC 6455 §5.2's three length forms).
    @inlinable
    public static func serverHeaderSize(payloadLength: Int) -> Int {
        payloadLength <= maxShortPayloadLength ? 2 : (payloadLength <= maxMediumPayloadLength ? 4 : 10)
    }

    /// Writes one unmasked server frame, header then payload, into
    /// `target`, which must be exactly `serverHeaderSize + payload.count`
    /// bytes: the write path encodes straight into its output buffer.
    /// Inlined: a server's reply path writes one per message.
    @inlinable @inline(__always)
    public static func writeServerFrame(
        opcode: WebSocketOpcode,
        rsv1: Bool = false,
        payload: UnsafeRawBufferPointer,
        into target: UnsafeMutableRawBufferPointer
    ) {
        let length = payload.count
        let headerSize = serverHeaderSize(payloadLength: length)
        precondition(target.count == headerSize + length, "frame buffer of the wrong size")
        target[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode.rawValue
        switch headerSize {
        case 2:
            target[1] = UInt8(truncatingIfNeeded: length)
        case 4:
            target[1] = mediumLengthMarker
            target[2] = UInt8(truncatingIfNeeded: length >> 8)
            target[3] = UInt8(truncatingIfNeeded: length)
        default:
            target[1] = longLengthMarker
            for index in 0..<8 {
                target[2 + index] = UInt8(truncatingIfNeeded: UInt64(length) >> UInt64(56 - 8 * index))
            }
        }
        if length > 0 {
            UnsafeMutableRawBufferPointer(rebasing: target[headerSize...]).copyMemory(from: payload)
        }
    }

    /// One whole frame, header and payload, in one array; the payload is masked when a key is
    /// given (RFC 6455 §5.3).
    public static func encode(
        opcode: WebSocketOpcode,
        payload: some Collection<UInt8>,
        fin: Bool = true,
        rsv1: Bool = false,
        maskingKey: (UInt8, UInt8, UInt8, UInt8)? = nil
    ) -> [UInt8] {
        let length = payload.count
        var frame: [UInt8] = []
        frame.reserveCapacity(maxHeaderSize + length)
        appendHeader(opcode: opcode, fin: fin, rsv1: rsv1, payloadLength: length, maskingKey: maskingKey, to: &frame)
        let headerSize = frame.count
        frame.append(contentsOf: payload)
        if let key = maskingKey {
            frame.withUnsafeMutableBytes { raw in
                applyWebSocketMask(key, to: UnsafeMutableRawBufferPointer(rebasing: raw[headerSize...]))
            }
        }
        return frame
    }

    /// A close frame's payload (RFC 6455 §5.5.1): the 2-byte code in network order, then the
    /// reason as UTF-8.
    ///
    /// The reason is cut to ``maxCloseReasonSize`` (123) bytes at a character boundary, so the
    /// frame stays a valid control frame and its text valid UTF-8. The code is written as
    /// given; callers check ``WebSocketCloseCode/isSendable``.
    public static func closePayload(code: WebSocketCloseCode, reason: String) -> [UInt8] {
        var payload: [UInt8] = []
        payload.reserveCapacity(2 + min(reason.utf8.count, maxCloseReasonSize))
        payload.append(UInt8(truncatingIfNeeded: code.rawValue >> 8))
        payload.append(UInt8(truncatingIfNeeded: code.rawValue))
        payload.append(contentsOf: truncatedReason(reason).utf8)
        return payload
    }

    /// `reason` if it fits in a close frame, else its longest prefix of whole characters that does.
    static func truncatedReason(_ reason: String) -> Substring {
        guard reason.utf8.count > maxCloseReasonSize else { return reason[...] }
        var size = 0
        var end = reason.startIndex
        for character in reason {
            let characterSize = character.utf8.count
            guard size + characterSize <= maxCloseReasonSize else { break }
            size += characterSize
            end = reason.index(after: end)
        }
        return reason[..<end]
    }
}

/// A decoded frame header (RFC 6455 §5.2), as the session and tests read it.
struct WebSocketFrameHeader: Sendable, Hashable {
    var fin: Bool
    var rsv1: Bool
    var rsv2: Bool
    var rsv3: Bool
    var opcode: WebSocketOpcode
    /// The announced payload length. A 64-bit length may have its most significant bit set,
    /// which RFC 6455 §5.2 forbids; the session rejects that.
    var payloadLength: UInt64
    var maskingKey: WebSocketMaskingKey?
    /// The header's size in bytes, 2–14.
    var size: Int

    /// The header size implied by the second header byte: 2, plus 2 or 8 bytes of extended
    /// length, plus 4 of masking key when the MASK bit is set.
    @inline(__always)
    static func size(secondByte: UInt8) -> Int {
        let lengthSize: Int =
            switch secondByte & 0x7F {
            case WebSocketFrame.mediumLengthMarker: 2
            case WebSocketFrame.longLengthMarker: 8
            default: 0
            }
        return 2 + lengthSize + (secondByte & 0x80 != 0 ? 4 : 0)
    }

    /// Decodes the header at the start of `bytes`, or returns nil if it is not all there yet.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> WebSocketFrameHeader? {
        guard bytes.count >= 2 else { return nil }
        let first = bytes[0]
        let second = bytes[1]
        let size = size(secondByte: second)
        guard bytes.count >= size else { return nil }
        var offset = 2
        var length = UInt64(second & 0x7F)
        if length == UInt64(WebSocketFrame.mediumLengthMarker) {
            length = UInt64(bytes[2]) << 8 | UInt64(bytes[3])
            offset = 4
        } else if length == UInt64(WebSocketFrame.longLengthMarker) {
            length = 0
            for index in 2..<10 { length = length << 8 | UInt64(bytes[index]) }
            offset = 10
        }
        let key = second & 0x80 != 0 ? WebSocketMaskingKey(bytes: bytes, at: offset) : nil
        return WebSocketFrameHeader(
            fin: first & 0x80 != 0,
            rsv1: first & 0x40 != 0,
            rsv2: first & 0x20 != 0,
            rsv3: first & 0x10 != 0,
            opcode: WebSocketOpcode(uncheckedRawValue: first & 0x0F),
            payloadLength: length,
            maskingKey: key,
            size: size
        )
    }
}
