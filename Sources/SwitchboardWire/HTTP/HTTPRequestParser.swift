/// A strict, sans-I/O HTTP/1.1 request parser (RFC 9112).
///
/// Bytes go in with `receive(_:)`; complete requests come out of ``nextEvent()``,
/// one per call, in order, so pipelined requests are simply further events. The parser never
/// touches a socket or a clock: the caller owns the 408 timer (see ``hasPartialRequest``) and
/// closes the connection after any error.
///
/// Strictness against request smuggling: CRLF only, no obs-fold, no whitespace before a
/// field colon, one Host, one Content-Length, never Content-Length with Transfer-Encoding,
/// chunked exactly once and last. Every rule answers with the status RFC 9110 gives it.
///
/// Memory: bytes are buffered until a request is complete. A fully consumed buffer releases
/// its storage, so an idle keep-alive connection holds no heap; consumed prefixes are
/// compacted away before new bytes are appended, so pipelining does not grow the buffer.
///
/// `Expect: 100-continue`: the head is reported with its complete body, so the parser says
/// when a request waits for the interim response (``isAwaitingContinue``) and the connection
/// sends it. Not handled: CONNECT tunnels (a CONNECT request does not pause the parser).
public struct HTTPRequestParser: Sendable {
    private enum Phase: Sendable {
        /// Scanning a request head; also the idle state between requests.
        case head
        /// The head is parsed; waiting for this many body bytes (0: none) after it.
        case fixedBody(HTTPRequestHead, length: Int)
        /// The head is parsed; decoding a chunked body. Boxed, like the
        /// refusal: the decoder is ~200 bytes, and every look at the phase
        /// would copy that much (a chunked body is rare; a phase read is not).
        indirect case chunkedBody(HTTPRequestHead, HTTPChunkedDecoder)
        /// An upgrade request was returned; see ``isPausedForUpgrade``.
        case paused
        indirect case failed(HTTPRefusal)
    }

    private let limits: HTTPParserLimits
    private var buffer: [UInt8] = []
    /// Start of the bytes not yet consumed: the current head, body or next request.
    private var readIndex = 0
    /// How far past `readIndex` the head scanner has looked.
    private var scanned = 0
    private var phase = Phase.head
    private var scanner: HTTPHeadScanner
    private var collector: HTTPHeadCollector?
    private var chunkedBody: [UInt8] = []

    public init(limits: HTTPParserLimits = .default) {
        self.limits = limits
        self.scanner = HTTPHeadScanner(section: .requestHead, limits: limits)
    }

    // MARK: Input

    /// Appends bytes to the internal buffer. Nothing is parsed until ``nextEvent()``.
    public mutating func receive(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if case .failed = phase { return }  // the connection is closing; drop input
        compactBeforeAppend()
        buffer.append(contentsOf: HTTPSyntax.bytes(bytes))
    }

    /// Appends bytes to the internal buffer.
    public mutating func receive(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { receive($0) }
    }

    // MARK: Output

    /// The next complete request, or nil if more bytes are needed or the parser is paused.
    ///
    /// After an error the parser is failed: this throws the same error on every later call.
    public mutating func nextEvent() throws(HTTPRefusal) -> HTTPParserEvent? {
        do {
            let event = try advance()
            releaseIfConsumed()
            return event
        } catch {
            fail(error)
            throw error
        }
    }

    /// Whether bytes of a request that is not complete yet are buffered (or its body is
    /// awaited). The server runs its request timeout (408) while this is true and its idle
    /// timeout otherwise. False while paused or failed.
    public var hasPartialRequest: Bool {
        switch phase {
        case .head: readIndex < buffer.count
        case .fixedBody, .chunkedBody: true
        case .paused, .failed: false
        }
    }

    /// Whether the request being received asked for `Expect: 100-continue`
    /// (RFC 9110 §10.1.1) and none of its body has arrived yet: the server
    /// should send `100 Continue` once, or the client waits before sending
    /// the body. A body over the limit was already refused with 413.
    public var isAwaitingContinue: Bool {
        let head: HTTPRequestHead
        switch phase {
        case .fixedBody(let fixed, let length) where length > 0 && readIndex == buffer.count: head = fixed
        case .chunkedBody(let chunked, let decoder) where readIndex == buffer.count && !decoder.hasReceivedBytes: head = chunked
        default: return false
        }
        guard head.version == .http1_1, let expect = head.request.headerFields[.expect] else { return false }
        return expect.lowercased() == "100-continue"
    }

    /// The head of the request whose body is still arriving, nil otherwise
    /// (for checks that compare the parser with another reader of the
    /// same stream, which may decide at the end of the head).
    package var headAwaitingBody: HTTPRequestHead? {
        switch phase {
        case .fixedBody(let head, _), .chunkedBody(let head, _): head
        case .head, .paused, .failed: nil
        }
    }

    /// Whether the parser stopped after returning an upgrade request
    /// (``HTTPRequestHead/isUpgradeRequest``). ``nextEvent()`` returns nil until ``resume()``.
    public var isPausedForUpgrade: Bool {
        if case .paused = phase { return true }
        return false
    }

    /// Continues parsing HTTP after the server declined an upgrade.
    public mutating func resume() {
        if case .paused = phase { phase = .head }
    }

    /// Removes and returns the bytes after the last returned request.
    ///
    /// Used after an accepted upgrade: those bytes belong to the new protocol. If a request
    /// was partly parsed, its state is dropped and parsing would restart at a new request.
    /// A failed parser has no buffered bytes and stays failed.
    public mutating func takeBufferedBytes() -> [UInt8] {
        let bytes = Array(buffer[readIndex...])
        buffer = []
        readIndex = 0
        resetRequestState()
        switch phase {
        case .fixedBody, .chunkedBody: phase = .head
        case .head, .paused, .failed: break
        }
        return bytes
    }

    // MARK: Parsing

    private mutating func advance() throws(HTTPRefusal) -> HTTPParserEvent? {
        while true {
            switch phase {
            case .failed(let error):
                throw error
            case .paused:
                return nil
            case .head:
                guard readIndex + scanned < buffer.count else { return nil }
                let done = try Self.withBytes(of: buffer, from: readIndex) { (region) throws(HTTPRefusal) in
                    try scanHead(region)
                }
                guard done else { return nil }
            case .fixedBody(let head, let length):
                guard buffer.count - readIndex >= length else { return nil }
                let body = length == 0 ? [] : Array(buffer[readIndex..<(readIndex + length)])
                readIndex += length
                return complete(head, body: body)
            case .chunkedBody(let head, var decoder):
                guard readIndex < buffer.count else { return nil }
                let (consumed, finished) = try Self.withBytes(of: buffer, from: readIndex) {
                    (region) throws(HTTPRefusal) in
                    try decoder.decode(region, into: &chunkedBody)
                }
                readIndex += consumed
                guard finished else {
                    phase = .chunkedBody(head, decoder)
                    return nil
                }
                let body = chunkedBody
                chunkedBody = []
                return complete(head, body: body)
            }
        }
    }

    /// Feeds the head scanner; true once the head is complete and the phase moved to its body.
    private mutating func scanHead(_ region: UnsafeRawBufferPointer) throws(HTTPRefusal) -> Bool {
        while true {
            switch try scanner.next(in: region, offset: &scanned) {
            case .needMore:
                if scanner.isBeforeRequestLine {
                    // Only empty lines so far (RFC 9112 §2.2): drop them.
                    readIndex += scanned
                    scanned = 0
                }
                return false
            case .requestLine(let line):
                collector = try HTTPHeadCollector(requestLine: line, in: region)
            case .fieldLine(let line):
                try collector?.add(line, in: region)
            case .end:
                guard let finished = collector.take() else { throw .badRequest("invalid request line") }
                let (head, framing) = try finished.finish(limits: limits, buffer: buffer, from: readIndex)
                readIndex += scanned
                resetRequestState()
                switch framing {
                case .none: phase = .fixedBody(head, length: 0)
                case .length(let length): phase = .fixedBody(head, length: length)
                case .chunked: phase = .chunkedBody(head, HTTPChunkedDecoder(limits: limits))
                }
                return true
            }
        }
    }

    /// Emits a request and sets up for the next one (or pauses for an upgrade).
    private mutating func complete(_ head: HTTPRequestHead, body: [UInt8]) -> HTTPParserEvent {
        phase = head.isUpgradeRequest ? .paused : .head
        return .request(head, body: body)
    }

    // MARK: Buffer management

    /// Bytes buffered but not yet consumed (for tests and diagnostics).
    var unconsumedByteCount: Int { buffer.count - readIndex }

    /// The capacity of the internal buffer, to check that idle parsers hold no storage.
    var bufferCapacity: Int { buffer.capacity }

    /// Runs `body` over `storage[start...]`. Taking the array by value (one retain) lets
    /// `body` mutate the parser's other properties while the bytes are borrowed.
    private static func withBytes<Result>(
        of storage: [UInt8],
        from start: Int,
        _ body: (UnsafeRawBufferPointer) throws(HTTPRefusal) -> Result
    ) throws(HTTPRefusal) -> Result {
        // `Array.withUnsafeBytes` rethrows untyped errors, so carry the typed one through.
        let outcome = storage.withUnsafeBytes { raw in
            Swift.Result { () throws(HTTPRefusal) in try body(UnsafeRawBufferPointer(rebasing: raw[start...])) }
        }
        return try outcome.get()
    }

    private mutating func resetRequestState() {
        scanned = 0
        scanner = HTTPHeadScanner(section: .requestHead, limits: limits)
        collector = nil
        chunkedBody = []
    }

    private mutating func fail(_ error: HTTPRefusal) {
        phase = .failed(error)
        buffer = []
        readIndex = 0
        resetRequestState()
    }

    private mutating func releaseIfConsumed() {
        ReceiveBufferPolicy.releaseIfConsumed(&buffer, &readIndex)
    }

    private mutating func compactBeforeAppend() {
        ReceiveBufferPolicy.compactBeforeAppend(&buffer, &readIndex)
    }
}
