import SwitchboardWire

/// `http-parser`: the input is the byte stream a client sends (pipelined
/// requests, chunked bodies, `Expect: 100-continue`, upgrades).
///
/// It is fed whole, byte by byte and in pseudo-random pieces, with the
/// default limits and with small ones. Every way must give the same
/// requests, upgrade and error, and the same parser state at every byte
/// count the pieces share; one run's requests must each pass
/// ``HTTPRequestChecks``. `isAwaitingContinue` may hold only until the
/// first body byte: fed byte by byte, it holds at most one byte count in a row.
enum HTTPParserTarget {
    static let target = FuzzTarget(
        name: "http-parser",
        summary: "HTTPRequestParser: whole vs split, limits, Expect: 100-continue",
        check: check
    )

    /// Small enough that fuzzed inputs reach every limit.
    static let smallLimits = HTTPParserLimits(maxHeadSize: 200, maxHeaderCount: 6, maxRequestTargetLength: 40, maxBodySize: 64)

    static func check(_ input: [UInt8]) throws(PropertyViolation) {
        for limits in [HTTPParserLimits.default, smallLimits] {
            let whole = try HTTPParserTranscript.record(InputSplits.whole(input), limits: limits)
            let bytes = try HTTPParserTranscript.record(InputSplits.bytes(input), limits: limits)
            let random = try HTTPParserTranscript.record(InputSplits.random(input, salt: 1), limits: limits)
            for (name, other) in [("byte by byte", bytes), ("in random pieces", random)] {
                try require(other.entries == whole.entries, "fed \(name): \(other.entries) != whole: \(whole.entries)")
                try require(other.upgradedBytes == whole.upgradedBytes, "fed \(name): different bytes after the upgrade")
            }
            for (fed, state) in whole.states.merging(random.states, uniquingKeysWith: { first, _ in first }) {
                try require(
                    bytes.states[fed] == state,
                    "after \(fed) bytes: \(state) when fed in pieces, \(String(describing: bytes.states[fed])) byte by byte"
                )
            }
            try checkContinueEndsAtTheFirstBodyByte(bytes)
        }
    }

    /// RFC 9110 §10.1.1: the server sends `100 Continue` only while no body
    /// byte has arrived; byte by byte, that is a single byte count.
    private static func checkContinueEndsAtTheFirstBodyByte(_ bytes: HTTPParserTranscript) throws(PropertyViolation) {
        for (fed, state) in bytes.states where state.isAwaitingContinue {
            try require(
                bytes.states[fed + 1]?.isAwaitingContinue != true,
                "still awaiting 100-continue after body byte \(fed + 1)"
            )
        }
    }
}
