import SwitchboardWire

/// `upgrade-boundary`: the input is the byte stream a client sends to a
/// host that parses HTTP itself (SwiftNIO), in front of which
/// `HTTPUpgradeBoundary` decides which bytes follow an upgrade head.
///
/// Fed whole, byte by byte and in pseudo-random pieces, it must pass the
/// same number of bytes and end in the same state. And it must agree with
/// `HTTPRequestParser` under the same limits: the same bytes belong to
/// the new protocol after an upgrade request without a body, it loses
/// track exactly where the parser refuses (or at an upgrade with a body,
/// whole or cut short),
/// and it follows on where the parser sees only plain requests.
enum UpgradeBoundaryTarget {
    static let target = FuzzTarget(
        name: "upgrade-boundary",
        summary: "HTTPUpgradeBoundary: whole vs split, agreement with HTTPRequestParser",
        check: check
    )

    static let smallLimits = HTTPParserLimits(maxHeadSize: 200, maxHeaderCount: 6, maxRequestTargetLength: 40, maxBodySize: 64)

    static func check(_ input: [UInt8]) throws(PropertyViolation) {
        for limits in [HTTPUpgradeBoundary.defaultLimits, smallLimits] {
            let whole = follow(InputSplits.whole(input), limits: limits)
            for (name, pieces) in [("byte by byte", InputSplits.bytes(input)), ("in random pieces", InputSplits.random(input, salt: 3))] {
                let split = follow(pieces, limits: limits)
                try require(split.passed == whole.passed && split.state == whole.state, "fed \(name): \(split) != whole: \(whole)")
            }
            try agreeWithTheParser(input, whole, limits: limits)
        }
    }

    /// Bytes passed to the host, and the final state.
    private static func follow(_ pieces: [ArraySlice<UInt8>], limits: HTTPParserLimits) -> (passed: Int, state: HTTPUpgradeBoundary.State) {
        var boundary = HTTPUpgradeBoundary(limits: limits)
        var passed = 0
        for piece in pieces {
            passed += piece.withUnsafeBytes { boundary.scan($0) }
        }
        return (passed, boundary.state)
    }

    private static func agreeWithTheParser(
        _ input: [UInt8], _ boundary: (passed: Int, state: HTTPUpgradeBoundary.State), limits: HTTPParserLimits
    ) throws(PropertyViolation) {
        var parser = HTTPRequestParser(limits: limits)
        parser.receive(input)
        var last: HTTPParserEvent?
        do {
            while let event = try parser.nextEvent() {
                last = event
                // CONNECT ends the following (SwiftNIO's parser stops there);
                // the request parser goes on: nothing to compare after it.
                if case .request(let head, _) = event, head.request.method == .connect { return }
            }
        } catch {
            guard case .lostTrack = boundary.state else {
                throw PropertyViolation("the parser refused (\(error)) but the boundary is \(boundary.state)")
            }
            return
        }
        // The input may end inside an upgrade request's body: the parser
        // waits for the rest, the boundary lost track at the end of its head.
        if let head = parser.headAwaitingBody, head.isUpgradeRequest {
            try require(boundary.state == .lostTrack(HTTPRefusal(status: .badRequest, reason: "upgrade request with a body")),
                        "an upgrade with part of a body, yet the boundary is \(boundary.state)")
            return
        }
        guard parser.isPausedForUpgrade, case .request(_, let body) = last else {
            try require(boundary.state == .following && boundary.passed == input.count,
                        "only plain requests, yet the boundary is \(boundary.state) after \(boundary.passed) of \(input.count)")
            return
        }
        if body.isEmpty {
            let rest = parser.takeBufferedBytes().count
            try require(boundary.state == .upgradeHeadEnded && boundary.passed == input.count - rest,
                        "upgrade with \(rest) bytes behind it, yet the boundary is \(boundary.state) after \(boundary.passed) of \(input.count)")
        } else {
            try require(boundary.state == .lostTrack(HTTPRefusal(status: .badRequest, reason: "upgrade request with a body")),
                        "an upgrade with a body, yet the boundary is \(boundary.state)")
        }
    }
}
