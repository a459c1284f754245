import HTTPTypes
import SwitchboardWire

/// Everything one way of feeding an input to ``HTTPRequestParser`` produced,
/// comparable with another way of feeding the same bytes.
///
/// The driver acts like the server: a GET upgrade request is accepted (the
/// parser's remaining bytes and everything after belong to the new
/// protocol), any other upgrade request is declined (`resume()`), and an
/// error ends the connection.
struct HTTPParserTranscript: Equatable {
    enum Entry: Equatable {
        case request(HTTPRequest, HTTPVersion, keepAlive: Bool, isUpgradeRequest: Bool, body: [UInt8])
        case upgraded
        case failed(HTTPRefusal)
    }

    /// What the parser reports between pieces, which must depend only on
    /// how many bytes were fed, not on how they were cut.
    struct ObservedState: Equatable {
        var hasPartialRequest: Bool
        var isAwaitingContinue: Bool
    }

    var entries: [Entry] = []
    /// After an accepted upgrade: the bytes taken from the parser, then every byte fed later.
    var upgradedBytes: [UInt8] = []
    /// The state after each piece, keyed by the number of bytes fed so far
    /// (until an upgrade or an error ends the parser's part).
    var states: [Int: ObservedState] = [:]

    /// Feeds `pieces` in order, draining every event after each one, and
    /// checks the properties that hold for a single run.
    static func record(
        _ pieces: [ArraySlice<UInt8>],
        limits: HTTPParserLimits
    ) throws(PropertyViolation) -> HTTPParserTranscript {
        var parser = HTTPRequestParser(limits: limits)
        var transcript = HTTPParserTranscript()
        var fed = 0
        var upgraded = false
        for piece in pieces {
            fed += piece.count
            if upgraded {
                transcript.upgradedBytes += piece
                continue
            }
            parser.receive(Array(piece))
            while true {
                let event: HTTPParserEvent?
                do {
                    event = try parser.nextEvent()
                } catch {
                    try checkFailed(&parser, error)
                    transcript.entries.append(.failed(error))
                    return transcript
                }
                guard case .request(let head, let body)? = event else { break }
                try HTTPRequestChecks.check(head, body: body, limits: limits)
                transcript.entries.append(
                    .request(
                        head.request, head.version, keepAlive: head.keepAlive,
                        isUpgradeRequest: head.isUpgradeRequest, body: body
                    )
                )
                try require(
                    parser.isPausedForUpgrade == head.isUpgradeRequest,
                    "paused=\(parser.isPausedForUpgrade) after a request with upgrade=\(head.isUpgradeRequest)"
                )
                guard head.isUpgradeRequest else { continue }
                if head.request.method == .get {
                    transcript.upgradedBytes = parser.takeBufferedBytes()
                    transcript.entries.append(.upgraded)
                    upgraded = true
                    break
                }
                parser.resume()
            }
            if !upgraded {
                transcript.states[fed] = ObservedState(
                    hasPartialRequest: parser.hasPartialRequest,
                    isAwaitingContinue: parser.isAwaitingContinue
                )
            }
        }
        return transcript
    }

    /// A failed parser stays failed with the same error, holds nothing, and
    /// ignores whatever arrives later (the server is closing).
    private static func checkFailed(_ parser: inout HTTPRequestParser, _ error: HTTPRefusal) throws(PropertyViolation) {
        let statuses: Set<Int> = [400, 413, 414, 431, 501, 505]
        try require(statuses.contains(error.status.code), "unexpected status in \(error)")
        try require(!error.reason.isEmpty, "an error without a reason: \(error)")
        try require(!parser.hasPartialRequest && !parser.isAwaitingContinue, "a failed parser reports a request in progress")
        parser.receive(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        switch Result(catching: { () throws(HTTPRefusal) in try parser.nextEvent() }) {
        case .success(let event):
            throw PropertyViolation("a failed parser returned \(String(describing: event)) instead of \(error)")
        case .failure(let again):
            try require(again == error, "the error changed from \(error) to \(again)")
        }
    }
}
