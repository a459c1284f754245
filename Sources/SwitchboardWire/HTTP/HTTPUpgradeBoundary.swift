/// Follows the requests on a connection whose HTTP another stack parses (a
/// SwiftNIO host), to find where the head of its first upgrade request ends.
///
/// A host that hands an upgrade over to Switchboard must pass on the bytes
/// the client sent right behind the head (its first WebSocket frames), but
/// the host's own parser has read them and would take them for the next
/// request. Scanning the same bytes first, this says which ones are for the
/// host's parser and which follow the upgrade head and must be held back.
///
/// Bodies are skipped, never buffered: only a head in progress is kept
/// (bounded by `limits.maxHeadSize`). Framing follows the parser's strict
/// rules (``HTTPRequestParser``); a request those rules refuse, or an
/// upgrade request with a body, puts the scanner in
/// ``State-swift.enum/lostTrack``: from then on every byte goes to the host
/// and no hand-off can be trusted on this connection.
public struct HTTPUpgradeBoundary: Sendable {
    public enum State: Sendable, Equatable {
        /// Between or inside plain requests: every byte is for the host.
        case following
        /// An upgrade request's head has ended: the bytes after it belong
        /// to the new protocol.
        case upgradeHeadEnded
        /// The requests could not be followed (why, in the refusal's
        /// reason); every byte is for the host.
        case lostTrack(HTTPRefusal)
    }

    private enum Phase: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkedBody(HTTPChunkedDecoder)
        case done
    }

    public private(set) var state = State.following
    private let limits: HTTPParserLimits
    private var phase = Phase.head
    /// The head in progress, or the start of a chunked trailer section.
    private var pending: [UInt8] = []
    private var scanner: HTTPHeadScanner
    private var scanned = 0
    private var collector: HTTPHeadCollector?

    /// Hosts usually accept larger heads than Switchboard's own server
    /// (SwiftNIO: 80 KiB of fields); bodies of any size are followed.
    public static let defaultLimits = HTTPParserLimits(
        maxHeadSize: 96 * 1024, maxHeaderCount: 1_000, maxRequestTargetLength: 80 * 1024, maxBodySize: .max
    )

    public init(limits: HTTPParserLimits = HTTPUpgradeBoundary.defaultLimits) {
        self.limits = limits
        self.scanner = HTTPHeadScanner(section: .requestHead, limits: limits)
    }

    /// Follows `bytes`, the next ones the client sent, and returns how many
    /// of them are for the host's parser: all of them, or those up to the
    /// end of an upgrade request's head; none once that head has ended.
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Int {
        var index = 0
        do {
            while index < bytes.count {
                switch phase {
                case .done:
                    return state == .upgradeHeadEnded ? index : bytes.count
                case .head:
                    index += try scanHead(UnsafeRawBufferPointer(rebasing: bytes[index...]))
                case .fixedBody(let remaining):
                    let take = min(remaining, bytes.count - index)
                    index += take
                    phase = take == remaining ? .head : .fixedBody(remaining: remaining - take)
                case .chunkedBody(var decoder):
                    index += try skipChunked(UnsafeRawBufferPointer(rebasing: bytes[index...]), &decoder)
                }
            }
        } catch {
            lose(error)
            return bytes.count
        }
        return state == .upgradeHeadEnded ? index : bytes.count
    }

    /// Adds head bytes and scans them; returns how many of `bytes` belong
    /// to the head (all, unless it ended among them).
    private mutating func scanHead(_ bytes: UnsafeRawBufferPointer) throws(HTTPRefusal) -> Int {
        // One byte past the limit is enough for the scanner to refuse.
        let before = pending.count
        let take = min(bytes.count, max(1, limits.maxHeadSize + 1 - before))
        pending.append(contentsOf: HTTPSyntax.bytes(UnsafeRawBufferPointer(rebasing: bytes[..<take])))
        let ended = try Self.withBytes(of: pending) { (region) throws(HTTPRefusal) in try scanLines(region) }
        guard ended else {
            if scanner.isBeforeRequestLine {
                pending.removeFirst(scanned)
                scanned = 0
            }
            return take
        }
        let used = scanned - before
        pending = []
        scanned = 0
        scanner = HTTPHeadScanner(section: .requestHead, limits: limits)
        return used
    }

    /// True once the head has ended; then the phase is set for its body.
    private mutating func scanLines(_ region: UnsafeRawBufferPointer) throws(HTTPRefusal) -> Bool {
        while true {
            switch try scanner.next(in: region, offset: &scanned) {
            case .needMore:
                return false
            case .requestLine(let line):
                collector = try HTTPHeadCollector(requestLine: line, in: region)
            case .fieldLine(let line):
                try collector?.add(line, in: region)
            case .end:
                guard let finished = collector.take() else { throw .badRequest("invalid request line") }
                let (head, framing) = try finished.finish(
                    limits: limits, section: UnsafeRawBufferPointer(rebasing: region[0..<scanned]))
                if head.isUpgradeRequest || head.method == .connect {
                    // The host's parser stops after such a request; so do we.
                    guard framing == .none else { throw .badRequest("upgrade request with a body") }
                    state = .upgradeHeadEnded
                    phase = .done
                    return true
                }
                switch framing {
                case .none: phase = .head
                case .length(let length): phase = .fixedBody(remaining: length)
                case .chunked: phase = .chunkedBody(HTTPChunkedDecoder(limits: limits, keepsData: false))
                }
                return true
            }
        }
    }

    /// Skips chunked body bytes; a trailer section cut short is kept in
    /// `pending` and rescanned with what follows, as the decoder expects.
    private mutating func skipChunked(
        _ bytes: UnsafeRawBufferPointer, _ decoder: inout HTTPChunkedDecoder
    ) throws(HTTPRefusal) -> Int {
        let before = pending.count
        var unused: [UInt8] = []
        let outcome: (consumed: Int, finished: Bool)
        if before == 0 {
            outcome = try decoder.decode(bytes, into: &unused)
        } else {
            pending.append(contentsOf: HTTPSyntax.bytes(bytes))
            outcome = try Self.withBytes(of: pending) { (region) throws(HTTPRefusal) in try decoder.decode(region, into: &unused) }
        }
        if outcome.finished {
            pending = []
            phase = .head
            return outcome.consumed - before
        }
        // Unconsumed bytes are the start of the trailer section.
        if before == 0 {
            pending.append(contentsOf: HTTPSyntax.bytes(UnsafeRawBufferPointer(rebasing: bytes[outcome.consumed...])))
        } else {
            pending.removeFirst(outcome.consumed)
        }
        guard pending.count <= limits.maxHeadSize else { throw .trailersTooLarge }
        phase = .chunkedBody(decoder)
        return bytes.count
    }

    /// `Array.withUnsafeBytes` rethrows untyped errors; this carries the
    /// typed one through (the array by value lets `body` mutate `self`).
    private static func withBytes<Result>(
        of storage: [UInt8], _ body: (UnsafeRawBufferPointer) throws(HTTPRefusal) -> Result
    ) throws(HTTPRefusal) -> Result {
        try storage.withUnsafeBytes { raw in Swift.Result { () throws(HTTPRefusal) in try body(raw) } }.get()
    }

    private mutating func lose(_ error: HTTPRefusal) {
        state = .lostTrack(error)
        phase = .done
        pending = []
        collector = nil
    }
}
