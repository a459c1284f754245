/// The server side of a WebSocket connection as a sans-I/O state machine (RFC 6455 §5–§7).
///
/// Bytes from the client go in with `receive(_:)`; events come out of ``nextEvent()``, one
/// per call; the bytes the protocol itself must send (pongs, the close reply, the close
/// frame after a protocol error) come out of ``takeOutboundBytes()``, in order. The session
/// never touches a socket, a clock or a random source: the I/O layer owns timeouts (for
/// example how long to wait for the peer's close after ``close(code:reason:)``), writes the
/// application's own frames with ``WebSocketFrame``, and closes TCP after `.closed`/`.failed`.
///
/// Rules enforced, each failing the connection (RFC 6455 §7.1.7) with the close code of
/// §7.4.1: client frames are masked (§5.1); RSV bits are 0 unless compression was negotiated,
/// and then RSV1 only on a message's first frame (§5.2, RFC 7692 §6.1); opcodes are defined
/// (§5.2); control frames are final and at most 125 bytes (§5.5); fragments follow §5.4; a
/// 64-bit length has its top bit clear (§5.2); messages stay within
/// ``WebSocketWireConfiguration/maxMessageSize`` (1009); text is UTF-8 (§8.1, 1007); close
/// frames carry no payload or a sendable code and a UTF-8 reason (§5.5.1, §7.4).
///
/// Not enforced: the minimal encoding of payload lengths (§5.2 asks senders for it, and
/// rejecting a longer form protects nothing), and anything about extension data: compressed
/// messages are delivered as received for the compression layer to inflate and validate.
///
/// Memory: client bytes are unmasked in place in the receive buffer, checked as they arrive
/// and copied once, into the message. A frame's size is checked from its header before its
/// payload is buffered. A fully consumed buffer releases its storage, so an idle session holds
/// no heap; a consumed prefix is compacted away before more bytes are appended.
public struct WebSocketSession: Sendable {
    /// Where the closing handshake stands (RFC 6455 §7.1).
    public enum State: Sendable, Hashable {
        /// Messages flow both ways.
        case open
        /// The application sent a close frame and waits for the peer's (RFC 6455 §7.1.2).
        /// Incoming messages are still delivered; nothing more is sent.
        case closing
        /// Both sides sent a close frame, or the peer broke the protocol. Input is ignored;
        /// the I/O layer flushes the outbound bytes and closes the TCP connection.
        case closed
    }

    /// What the frame parser waits for.
    private enum ReadPhase: Sendable {
        /// The start of a frame.
        case header
        /// More payload of a data frame; its header is consumed.
        case dataPayload(DataFrameProgress)
    }

    /// A data frame whose payload is being read, possibly over several receives.
    private struct DataFrameProgress: Sendable {
        /// Payload bytes not yet read.
        var remaining: Int
        var maskingKey: WebSocketMaskingKey
        /// Payload bytes already unmasked, modulo 256 (only the position modulo 4
        /// matters), so the next piece starts at the right key byte.
        var keyOffset: UInt8
        /// Whether the frame ends its message.
        var fin: Bool
    }

    private let configuration: WebSocketWireConfiguration

    /// Where the closing handshake stands. Parsing stops in ``State/closed``.
    public private(set) var state = State.open
    /// The reply to the peer's close, sent after `outbound`: kept as its
    /// code, not as bytes (an array allocated per closing connection).
    /// Beside `state`, in what was padding.
    private var closeReply = CloseReply.none
    private enum CloseReply: Equatable {
        case none
        /// An empty close frame (the peer's had no code).
        case empty
        case code(UInt16)

        var frameByteCount: Int {
            switch self {
            case .none: 0
            case .empty: 2
            case .code: 4
            }
        }
    }

    /// Received bytes; those before `readIndex` are consumed.
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Bytes given with ``receive(inPlace:)``, parsed where they are instead of `buffer`
    /// (then `readIndex` counts in them) until ``keepUnconsumedInput()``; no base address
    /// when there are none. Not optional: an idle connection pays 16 bytes for it, not 24.
    nonisolated(unsafe) private var borrowed = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// Whether a completed message's payload is lent where it lies, and where.
    private enum Lending {
        case off
        case wanted
        case lent(UnsafeRawBufferPointer)
    }

    /// The frame being read and the data message in progress, out of line: allocated only
    /// while one is incomplete (a frame spanning receives, a fragmented message, a frame
    /// longer than `singleFrameMessage` takes), so an idle session holds 8 bytes for it,
    /// not ~45. Copied on write: a session stays a value.
    private struct Progress {
        var readPhase = ReadPhase.header
        /// The data message's opcode (nil when none), whether it is compressed, the payload
        /// length announced by its frames so far, the payload bytes read so far when it
        /// spans frames or receives, and whether its text is being validated.
        var messageOpcode: WebSocketOpcode?
        var messageCompressed = false
        var messageLength = 0
        var messageBytes: [UInt8] = []
        var messageValidatesUTF8 = false
        var validator = UTF8Validator()

        var isIdle: Bool {
            if case .header = readPhase, messageOpcode == nil, messageBytes.capacity == 0 { return true }
            return false
        }
    }

    private final class ProgressBox: @unchecked Sendable {
        @exclusivity(unchecked) var value: Progress
        init(_ value: Progress) { self.value = value }
    }

    private var progressBox: ProgressBox?

    /// The progress to change: made when there is none, copied when another copy of the
    /// session shares it.
    private mutating func progressToChange() -> ProgressBox {
        if progressBox == nil {
            progressBox = ProgressBox(Progress())
        } else if !isKnownUniquelyReferenced(&progressBox) {
            progressBox = ProgressBox(progressBox!.value)
        }
        return progressBox!
    }

    /// Lets go of the progress once nothing is in it.
    private mutating func releaseProgressIfIdle() {
        if let box = progressBox, box.value.isIdle { progressBox = nil }
    }

    private var readPhase: ReadPhase {
        get { progressBox?.value.readPhase ?? .header }
        set { progressToChange().value.readPhase = newValue }
    }
    private var messageOpcode: WebSocketOpcode? {
        get { progressBox?.value.messageOpcode }
        set { progressToChange().value.messageOpcode = newValue }
    }
    private var messageCompressed: Bool {
        get { progressBox?.value.messageCompressed ?? false }
        set { progressToChange().value.messageCompressed = newValue }
    }
    private var messageLength: Int {
        get { progressBox?.value.messageLength ?? 0 }
        set { progressToChange().value.messageLength = newValue }
    }
    private var messageBytes: [UInt8] {
        get { progressBox?.value.messageBytes ?? [] }
        _modify { yield &progressToChange().value.messageBytes }
    }
    private var messageValidatesUTF8: Bool {
        get { progressBox?.value.messageValidatesUTF8 ?? false }
        set { progressToChange().value.messageValidatesUTF8 = newValue }
    }
    private var validator: UTF8Validator {
        get { progressBox?.value.validator ?? UTF8Validator() }
        _modify { yield &progressToChange().value.validator }
    }

    /// Frames the session itself sends, in order.
    private var outbound: [UInt8] = []

    /// Creates a session for a connection whose handshake just completed.
    public init(configuration: WebSocketWireConfiguration = .init()) {
        self.configuration = configuration
    }

    // MARK: Input

    /// Appends received bytes. Nothing is parsed until ``nextEvent()``; ignored once closed.
    public mutating func receive(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty, state != .closed else { return }
        keepUnconsumedInput()
        compactBeforeAppend()
        buffer.append(contentsOf: HTTPSyntax.bytes(bytes))
    }

    /// Takes received bytes without copying them: they are unmasked and parsed where they
    /// are, so they must stay valid and untouched by anyone else until
    /// ``keepUnconsumedInput()``, which copies what is left of them. The common case (a read
    /// holding whole frames) then never copies input into the session. With bytes still
    /// buffered from before, this appends like ``receive(_:)-(UnsafeRawBufferPointer)``.
    public mutating func receive(inPlace bytes: UnsafeMutableRawBufferPointer) {
        guard !bytes.isEmpty, state != .closed else { return }
        guard borrowed.baseAddress == nil, readIndex == buffer.count else {
            keepUnconsumedInput()
            receive(UnsafeRawBufferPointer(bytes))
            return
        }
        if buffer.capacity > 0 { buffer = [] }  // no release of the empty array per read
        readIndex = 0
        borrowed = bytes
    }

    /// Copies what is left of the bytes of ``receive(inPlace:)`` into the session's own
    /// buffer, after which the caller may reuse them. Does nothing otherwise.
    public mutating func keepUnconsumedInput() {
        guard borrowed.baseAddress != nil else { return }
        let input = borrowed
        borrowed = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        let rest = UnsafeRawBufferPointer(rebasing: input[readIndex...])
        readIndex = 0
        buffer = rest.isEmpty ? [] : Array(HTTPSyntax.bytes(rest))
    }

    /// Appends received bytes.
    public mutating func receive(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { receive($0) }
    }

    // MARK: Output

    /// The next event, or nil when more bytes are needed or the session is closed.
    ///
    /// After `.closed` or `.failed` the session is closed and this returns nil for good.
    public mutating func nextEvent() -> WebSocketEvent? {
        var lending = Lending.off
        return nextEvent(&lending)
    }

    private mutating func nextEvent(_ lending: inout Lending) -> WebSocketEvent? {
        // What the previous event lent is released now (see `nextLentEvent()`).
        if let box = progressBox {
            if box.value.messageBytes.isEmpty, box.value.messageBytes.capacity > 0 { messageBytes = [] }
            releaseProgressIfIdle()
        }
        guard state != .closed else { return nil }
        if borrowed.baseAddress != nil {
            let event = advance(in: borrowed, &lending)
            if state == .closed || readIndex == borrowed.count {
                borrowed = UnsafeMutableRawBufferPointer(start: nil, count: 0)
                readIndex = 0
            }
            return event
        }
        releaseIfConsumed()
        // Nothing unread: `advance` would find no event and change nothing
        // (making the empty buffer unique first, on every read's last call).
        guard readIndex < buffer.count else { return nil }
        // Take the buffer out of `self` so it can be unmasked in place while the parser
        // updates the other properties; it stays uniquely referenced, so nothing is copied.
        var storage: [UInt8] = []
        swap(&storage, &buffer)
        let event = storage.withUnsafeMutableBytes { advance(in: $0, &lending) }
        if state == .closed {
            readIndex = 0  // drop the rest: input after a close or an error is ignored
        } else {
            swap(&storage, &buffer)
            // A payload lent from the buffer keeps it until the next call.
            if case .lent = lending {} else { releaseIfConsumed() }
        }
        return event
    }

    /// The next event as ``nextEvent()`` returns it, except that a data message's payload is
    /// lent (``WebSocketLentEvent/message(_:_:compressed:)``) rather than copied into an
    /// array: for an I/O layer that hands it on within the call. The payload stays valid until
    /// the next call to ``nextEvent()``, ``nextLentEvent()`` or a `receive` (or, for bytes
    /// given to ``receive(inPlace:)``, until the caller reuses them). Nothing is stored for
    /// it: the array it lies in is released at the next call.
    public mutating func nextLentEvent() -> WebSocketLentEvent? {
        var lending = Lending.wanted
        guard let event = nextEvent(&lending) else { return nil }
        if case .message(let opcode, _, let compressed) = event, case .lent(let payload) = lending {
            return .message(opcode, payload, compressed: compressed)
        }
        return .other(event)
    }

    /// The server's fast path for the commonest input: a whole message in one final, masked,
    /// uncompressed text or binary frame of at most 125 bytes, next in the bytes of
    /// ``receive(inPlace:)``, with nothing else in progress and the session open. Returns it
    /// unmasked and lent (valid until the next call into the session), as
    /// ``nextLentEvent()`` would, without building an event; nil for anything else, which
    /// ``nextLentEvent()`` then takes (this frame's errors included: a text payload that is
    /// not UTF-8 is masked again and left to it).
    package mutating func nextSmallMessage() -> (opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer)? {
        guard state == .open, progressBox == nil, let base = borrowed.baseAddress else { return nil }
        // 0 <= readIndex <= borrowed.count: with the checks below, no
        // arithmetic here can overflow or leave the borrowed bytes.
        let available = borrowed.count &- readIndex
        guard available >= 6 else { return nil }
        let frame = base + readIndex
        let first = frame.load(as: UInt8.self)
        let second = frame.load(fromByteOffset: 1, as: UInt8.self)
        // FIN, no RSV bit, text (0x1) or binary (0x2); masked, with a 7-bit length.
        guard first == 0x81 || first == 0x82, second & 0x80 != 0 else { return nil }
        let length = Int(second & 0x7F)
        guard length <= 125, available &- 6 >= length, length <= configuration.maxMessageSize else { return nil }
        let payload = UnsafeMutableRawBufferPointer(start: frame + 6, count: length)
        let maskingKey = WebSocketMaskingKey(unchecked: frame + 2)
        maskingKey.apply(to: payload)
        // RFC 6455 §5.6, §8.1: text is UTF-8.
        if first == 0x81, !UTF8Validator.isValid(UnsafeRawBufferPointer(payload)) {
            maskingKey.apply(to: payload)
            return nil
        }
        if available == length &+ 6 {
            borrowed = UnsafeMutableRawBufferPointer(start: nil, count: 0)
            readIndex = 0
        } else {
            readIndex &+= length &+ 6
        }
        return (first == 0x81 ? .text : .binary, UnsafeRawBufferPointer(payload))
    }

    /// Removes and returns the bytes the session must send, in order: pongs, the reply to the
    /// peer's close, the close frame of ``close(code:reason:)`` or of a protocol error.
    /// Empty when there are none.
    public mutating func takeOutboundBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        swap(&bytes, &outbound)
        if closeReply != .none {
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: closeReply.frameByteCount))
            bytes.withUnsafeMutableBytes { writeCloseReply(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
            closeReply = .none
        }
        return bytes
    }

    /// Whether ``takeOutboundBytes()`` has bytes to return.
    public var hasOutboundBytes: Bool { !outbound.isEmpty || closeReply != .none }

    /// Hands what ``takeOutboundBytes()`` would return to `send`, as its
    /// size and a function that writes it into room of that size (straight
    /// into the connection's cork buffer, usually: no array). Afterwards
    /// nothing is left to send, whether or not `send` wrote it (a
    /// connection that takes no more bytes is closing). Mutating, so that
    /// another module's call does not copy the session to read it.
    package mutating func sendOutboundBytes(_ send: (Int, (UnsafeMutableRawBufferPointer) -> Void) -> Void) {
        let queued = outbound.count
        let count = queued + closeReply.frameByteCount
        guard count > 0 else { return }
        send(count) { target in
            precondition(target.count >= count)
            if queued > 0 { outbound.withUnsafeBytes { target.copyMemory(from: $0) } }
            writeCloseReply(into: UnsafeMutableRawBufferPointer(rebasing: target[queued...]))
        }
        if outbound.capacity > 0 { outbound = [] }
        closeReply = .none
    }

    private func writeCloseReply(into target: UnsafeMutableRawBufferPointer) {
        switch closeReply {
        case .none:
            break
        case .empty:
            target[0] = 0x80 | WebSocketOpcode.close.rawValue
            target[1] = 0
        case .code(let code):
            target[0] = 0x80 | WebSocketOpcode.close.rawValue
            target[1] = 2
            target[2] = UInt8(truncatingIfNeeded: code >> 8)
            target[3] = UInt8(truncatingIfNeeded: code)
        }
    }

    /// Bytes held for a partial frame or message: received but not yet consumed, plus the
    /// payload of a message still being assembled. 0 for an idle session, which then holds no
    /// heap storage for input.
    public var bufferedByteCount: Int {
        (borrowed.baseAddress != nil ? borrowed.count : buffer.count) - readIndex + messageBytes.count
    }

    // MARK: Closing

    /// Starts the closing handshake (RFC 6455 §7.1.2): queues a close frame and moves to
    /// ``State/closing``. Incoming data is still parsed and delivered until the peer's close
    /// arrives. Does nothing unless the session is open.
    ///
    /// `code` should be ``WebSocketCloseCode/isSendable``; for any other code (say 1005) the
    /// frame is sent with an empty payload, which the peer reports as "no status" (§7.1.5).
    /// `reason` is cut to 123 bytes of UTF-8 at a character boundary (§5.5).
    public mutating func close(code: WebSocketCloseCode, reason: String) {
        guard state == .open else { return }
        let payload = code.isSendable ? WebSocketFrame.closePayload(code: code, reason: reason) : []
        queueFrame(.close, payload)
        state = .closing
    }

    /// _Fails the WebSocket Connection_ (RFC 6455 §7.1.7) for a reason found above the
    /// session, such as a compressed message that does not inflate: queues a close frame with
    /// `code` unless one was already sent, and stops parsing for good.
    public mutating func fail(code: WebSocketCloseCode, reason: String) {
        if state == .open {
            queueFrame(.close, WebSocketFrame.closePayload(code: code, reason: reason))
        }
        stop()
    }

    // MARK: Parsing

    /// Parses frames from `bytes[readIndex...]` until one produces an event or input runs out.
    private mutating func advance(in bytes: UnsafeMutableRawBufferPointer, _ lending: inout Lending) -> WebSocketEvent? {
        while true {
            switch readPhase {
            case .header:
                let available = bytes.count - readIndex
                guard available >= 2 else { return nil }
                let first = bytes[readIndex]
                let second = bytes[readIndex + 1]
                // The first two bytes settle every rule but the length ones: fail before the
                // rest of the header arrives.
                if let violation = checkFirstHeaderBytes(first, second) { return fail(violation) }
                // The common frame, a whole small message in one piece, takes a shorter way.
                if let event = singleFrameMessage(in: bytes, first, second, &lending) { return event }
                guard
                    let header = WebSocketFrameHeader.decode(UnsafeRawBufferPointer(rebasing: bytes[readIndex...])),
                    let maskingKey = header.maskingKey
                else { return nil }
                // RFC 6455 §5.2: "the most significant bit MUST be 0" of a 64-bit length.
                guard header.payloadLength <= UInt64(Int.max) else { return fail(.invalidPayloadLength) }
                let length = Int(header.payloadLength)
                if header.opcode.isControl {
                    // At most 125 bytes (checked above): wait for the whole frame.
                    guard available - header.size >= length else { return nil }
                    let start = readIndex + header.size
                    let payload = UnsafeMutableRawBufferPointer(rebasing: bytes[start..<(start + length)])
                    maskingKey.apply(to: payload)
                    readIndex = start + length
                    return controlFrame(header.opcode, payload: UnsafeRawBufferPointer(payload))
                }
                // RFC 6455 §10.4: limit the message size before buffering any of this frame.
                guard length <= configuration.maxMessageSize - messageLength else { return fail(.messageTooBig) }
                readIndex += header.size
                if header.opcode != .continuation {
                    messageOpcode = header.opcode
                    messageCompressed = header.rsv1
                    // RFC 6455 §5.6: text is UTF-8; compressed text is validated once inflated.
                    messageValidatesUTF8 = header.opcode == .text && !header.rsv1
                }
                messageLength += length
                readPhase = .dataPayload(
                    DataFrameProgress(remaining: length, maskingKey: maskingKey, keyOffset: 0, fin: header.fin)
                )
            case .dataPayload(var frame):
                let take = min(frame.remaining, bytes.count - readIndex)
                guard take > 0 || frame.remaining == 0 else { return nil }
                let chunk = UnsafeMutableRawBufferPointer(rebasing: bytes[readIndex..<(readIndex + take)])
                frame.maskingKey.apply(to: chunk, keyOffset: Int(frame.keyOffset))
                readIndex += take
                frame.remaining -= take
                frame.keyOffset &+= UInt8(truncatingIfNeeded: take)  // only its value mod 4 matters
                let payload = UnsafeRawBufferPointer(chunk)
                // RFC 6455 §8.1: fail as soon as the text cannot be UTF-8, not at the end.
                if messageValidatesUTF8 && !validator.validate(payload) { return fail(.invalidUTF8) }
                if frame.remaining > 0 {
                    messageBytes.append(contentsOf: HTTPSyntax.bytes(payload))
                    readPhase = .dataPayload(frame)
                    return nil
                }
                readPhase = .header
                if frame.fin { return completeMessage(lastPiece: payload, &lending) }
                messageBytes.append(contentsOf: HTTPSyntax.bytes(payload))
            }
        }
    }

    /// A whole message in one final, masked frame of at most 65,535 bytes (a 7- or 16-bit
    /// length), all in `bytes`, with no message in progress (checked already:
    /// `checkFirstHeaderBytes` refuses a new data frame inside one): unmasked, validated and
    /// delivered without the frame-by-frame state the general path keeps out of line. Nil
    /// for any other frame, which the general path takes.
    @inline(__always)
    private mutating func singleFrameMessage(
        in bytes: UnsafeMutableRawBufferPointer, _ first: UInt8, _ second: UInt8, _ lending: inout Lending
    ) -> WebSocketEvent? {
        let opcode = WebSocketOpcode(uncheckedRawValue: first & 0x0F)
        guard first & 0x80 != 0, opcode == .text || opcode == .binary else { return nil }
        var length = Int(second & 0x7F)
        var headerSize = 6
        if length == 126 {
            guard bytes.count - readIndex >= 4 else { return nil }
            length = Int(bytes[readIndex + 2]) << 8 | Int(bytes[readIndex + 3])
            headerSize = 8
        } else if length == 127 {
            return nil
        }
        guard bytes.count - readIndex >= headerSize + length, length <= configuration.maxMessageSize else { return nil }
        let compressed = first & 0x40 != 0
        let maskingKey = WebSocketMaskingKey(bytes: UnsafeRawBufferPointer(bytes), at: readIndex + headerSize - 4)
        let start = readIndex + headerSize
        let payload = UnsafeMutableRawBufferPointer(rebasing: bytes[start..<(start + length)])
        maskingKey.apply(to: payload)
        // RFC 6455 §5.6, §8.1: text is UTF-8; compressed text is validated once inflated.
        if opcode == .text, !compressed, !UTF8Validator.isValid(UnsafeRawBufferPointer(payload)) {
            return fail(.invalidUTF8)
        }
        readIndex = start + length
        if case .wanted = lending {
            lending = .lent(UnsafeRawBufferPointer(payload))
            return .message(opcode, [], compressed: compressed)
        }
        return .message(opcode, Array(HTTPSyntax.bytes(UnsafeRawBufferPointer(payload))), compressed: compressed)
    }

    /// The frame rules decided by the first two header bytes (RFC 6455 §5.1, §5.2, §5.4, §5.5),
    /// checked in a fixed order so a frame breaking several rules always gets the same answer.
    private func checkFirstHeaderBytes(_ first: UInt8, _ second: UInt8) -> WebSocketProtocolViolation? {
        let fin = first & 0x80 != 0
        let rsv1 = first & 0x40 != 0
        let opcode = WebSocketOpcode(uncheckedRawValue: first & 0x0F)
        // RFC 6455 §5.2: RSV1–3 are 0 unless an extension gives them a meaning; only
        // permessage-deflate's RSV1 can be negotiated here (RFC 7692 §6).
        let reservedBits: UInt8 = configuration.allowsCompressedMessages ? 0x30 : 0x70
        if first & reservedBits != 0 { return .reservedBits }
        // RFC 6455 §5.2: unknown opcodes fail the connection.
        guard opcode.isDefined else { return .unknownOpcode }
        // RFC 6455 §5.1: every client-to-server frame is masked.
        if second & 0x80 == 0 { return .unmaskedFrame }
        let shortLength = second & 0x7F
        if opcode.isControl {
            // RFC 7692 §6.1: control frames are never compressed.
            if rsv1 { return .compressedControlFrame }
            // RFC 6455 §5.5: control frames are final and carry at most 125 bytes, so they
            // never use the 16- or 64-bit length forms.
            if !fin { return .fragmentedControlFrame }
            if shortLength > UInt8(WebSocketFrame.maxControlPayloadSize) { return .controlFrameTooLong }
            // RFC 6455 §5.5.1: a close body starts with a 2-byte code, so 1 byte is malformed.
            if opcode == .close && shortLength == 1 { return .invalidClosePayloadLength }
            return nil
        }
        if opcode == .continuation {
            // RFC 6455 §5.4: a continuation continues a message that was started.
            guard messageOpcode != nil else { return .unexpectedContinuation }
            // RFC 7692 §6.1: RSV1 is set on the first frame of a message only.
            if rsv1 { return .compressedContinuation }
        } else if messageOpcode != nil {
            // RFC 6455 §5.4: fragments of messages are not interleaved.
            return .interruptedMessage
        }
        return nil
    }

    /// Delivers the message whose final frame ended with `lastPiece` (RFC 6455 §5.4, §5.6).
    private mutating func completeMessage(lastPiece: UnsafeRawBufferPointer, _ lending: inout Lending) -> WebSocketEvent {
        // RFC 6455 §8.1: a text message must not end inside a code point.
        if messageValidatesUTF8 && !validator.isAtCharacterBoundary { return fail(.invalidUTF8) }
        if case .wanted = lending {
            // Lent where it lies: in the input, or in the joined fragments, whose array
            // is emptied but kept (its bytes untouched) until the next call.
            if messageBytes.isEmpty {
                lending = .lent(lastPiece)
            } else {
                messageBytes.append(contentsOf: HTTPSyntax.bytes(lastPiece))
                lending = .lent(messageBytes.withUnsafeBytes { $0 })
                messageBytes.removeAll(keepingCapacity: true)
            }
            let event = WebSocketEvent.message(messageOpcode ?? .binary, [], compressed: messageCompressed)
            let joined = messageBytes
            resetMessage()
            messageBytes = joined
            return event
        }
        let payload: [UInt8]
        if messageBytes.isEmpty {
            // The common case: the whole message is this piece of the buffer; one copy.
            payload = Array(HTTPSyntax.bytes(lastPiece))
        } else {
            messageBytes.append(contentsOf: HTTPSyntax.bytes(lastPiece))
            var taken: [UInt8] = []
            swap(&taken, &messageBytes)
            payload = taken
        }
        let event = WebSocketEvent.message(messageOpcode ?? .binary, payload, compressed: messageCompressed)
        resetMessage()
        return event
    }

    /// Handles a complete, unmasked control frame (RFC 6455 §5.5).
    private mutating func controlFrame(_ opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) -> WebSocketEvent {
        switch opcode {
        case .ping:
            // RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong
            // frame in response", with identical application data (§5.5.3). Not after our own
            // close frame: "a peer does not send any further data" after it (§1.4).
            if state == .open { queueFrame(.pong, payload) }
            return .ping(Array(HTTPSyntax.bytes(payload)))
        case .pong:
            // RFC 6455 §5.5.3: an unsolicited pong is allowed and needs no answer.
            return .pong(Array(HTTPSyntax.bytes(payload)))
        default:
            return closeFrame(payload)
        }
    }

    /// Handles the peer's close frame (RFC 6455 §5.5.1, §7.1.5).
    private mutating func closeFrame(_ payload: UnsafeRawBufferPointer) -> WebSocketEvent {
        var code: WebSocketCloseCode?
        var reason = ""
        if payload.count >= 2 {
            let received = WebSocketCloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
            // RFC 6455 §7.4: codes that must not be sent fail the connection.
            guard received.isSendable else { return fail(.invalidCloseCode) }
            // RFC 6455 §5.5.1: the reason is UTF-8.
            let reasonBytes = UnsafeRawBufferPointer(rebasing: payload[2...])
            guard UTF8Validator.isValid(reasonBytes) else { return fail(.invalidCloseReason) }
            code = received
            reason = String(decoding: reasonBytes, as: UTF8.self)
        }
        if state == .open {
            // RFC 6455 §5.5.1: "the endpoint MUST send a Close frame in response [...]
            // typically echoing the status code it received"; an empty close gets an empty one.
            closeReply = code.map { .code($0.rawValue) } ?? .empty
        }
        // RFC 6455 §7.1.4: both sides have sent close; the connection is closing.
        stop()
        return .closed(code: code, reason: reason)
    }

    // MARK: Failing

    /// _Fail the WebSocket Connection_ (RFC 6455 §7.1.7): queue a close frame with the
    /// violation's code unless one was already sent, and stop parsing for good (§7.1.1: no
    /// further data is processed).
    private mutating func fail(_ violation: WebSocketProtocolViolation) -> WebSocketEvent {
        if state == .open {
            queueFrame(.close, WebSocketFrame.closePayload(code: violation.closeCode, reason: violation.reason))
        }
        stop()
        return .failed(violation.closeCode, reason: violation.reason)
    }

    /// Moves to ``State/closed`` and drops everything buffered for input.
    private mutating func stop() {
        state = .closed
        buffer = []
        borrowed = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        readIndex = 0
        progressBox = nil  // the frame being read and the message in progress
    }

    /// Forgets the message just completed. Only between frames (the frame being read is
    /// part of the progress too): the progress goes as a whole.
    private mutating func resetMessage() {
        assert({ if case .header = readPhase { true } else { false } }())
        progressBox = nil
    }

    // MARK: Buffers

    /// Appends an unmasked frame from the server (RFC 6455 §5.1) to the outbound bytes.
    private mutating func queueFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) {
        // A first frame's header (at most 10 bytes unmasked) and payload in
        // one allocation; later ones grow the array as usual.
        if outbound.isEmpty { outbound.reserveCapacity(10 + payload.count) }
        WebSocketFrame.appendHeader(opcode: opcode, payloadLength: payload.count, to: &outbound)
        outbound.append(contentsOf: HTTPSyntax.bytes(payload))
    }

    private mutating func queueFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        payload.withUnsafeBytes { queueFrame(opcode, $0) }
    }

    /// The capacity of every internal array, to check that idle sessions hold no storage.
    var storageCapacity: Int { buffer.capacity + messageBytes.capacity + outbound.capacity }

    private mutating func releaseIfConsumed() {
        ReceiveBufferPolicy.releaseIfConsumed(&buffer, &readIndex)
    }

    private mutating func compactBeforeAppend() {
        ReceiveBufferPolicy.compactBeforeAppend(&buffer, &readIndex)
    }
}
