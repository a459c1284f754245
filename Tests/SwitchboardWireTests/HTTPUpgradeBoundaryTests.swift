import Testing

@testable import SwitchboardWire

/// The scanner a SwiftNIO host runs in front of its own HTTP parser, to hold
/// back what follows an upgrade request's head. Each stream is fed whole,
/// byte by byte and split at every offset: the boundary must not move.
@Suite("Upgrade boundary in a host's byte stream")
struct HTTPUpgradeBoundaryTests {
    static let upgrade = "GET /chat HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    /// A masked text frame "hi", as a client sends it right behind its request.
    static let frame: [UInt8] = [0x81, 0x82, 1, 2, 3, 4, 0x69 ^ 1, 0x69 ^ 2]

    /// Feeds `bytes` in pieces of the given sizes (the rest in one piece);
    /// returns how many were for the host, and the final state.
    static func feed(_ bytes: [UInt8], splits: [Int] = [], limits: HTTPParserLimits = HTTPUpgradeBoundary.defaultLimits)
        -> (passed: Int, state: HTTPUpgradeBoundary.State)
    {
        var boundary = HTTPUpgradeBoundary(limits: limits)
        var passed = 0
        var start = 0
        var pieces: [Range<Int>] = []
        for size in splits where start < bytes.count {
            pieces.append(start..<min(bytes.count, start + size))
            start = pieces.last!.upperBound
        }
        if start < bytes.count { pieces.append(start..<bytes.count) }
        var holding = false
        for piece in pieces {
            let count = bytes[piece].withUnsafeBytes { boundary.scan($0) }
            // Once bytes are held back, none is passed again.
            #expect(holding ? count == 0 : count <= piece.count)
            passed += count
            holding = holding || count < piece.count
        }
        return (passed, boundary.state)
    }

    /// The same answer for the whole stream, byte by byte, and every split in two.
    static func expectEverySplit(_ bytes: [UInt8], passed: Int, state: HTTPUpgradeBoundary.State, sourceLocation: SourceLocation = #_sourceLocation) {
        var splits: [[Int]] = [[], Array(repeating: 1, count: bytes.count)]
        splits += (1..<bytes.count).map { [$0] }
        for split in splits {
            let result = feed(bytes, splits: split)
            #expect(result.passed == passed && result.state == state, "split \(split.prefix(3))…: \(result)", sourceLocation: sourceLocation)
        }
    }

    @Test func holdsTheFramesBehindAnUpgradeHead() {
        let bytes = [UInt8](Self.upgrade.utf8) + Self.frame
        Self.expectEverySplit(bytes, passed: Self.upgrade.utf8.count, state: .upgradeHeadEnded)
    }

    @Test func followsPlainRequestsWithBodiesBeforeTheUpgrade() {
        // A body that looks like an upgrade request must not be taken for one.
        let lookalike = "\r\n\r\n" + Self.upgrade
        let plain = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: \(lookalike.utf8.count)\r\n\r\n" + lookalike
            + "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\n\r\n\r\n\r\r\n0\r\nX-Trailer: \r\n\r\n\r\n"
        let bytes = [UInt8]((plain + Self.upgrade).utf8) + Self.frame
        Self.expectEverySplit(bytes, passed: (plain + Self.upgrade).utf8.count, state: .upgradeHeadEnded)
    }

    @Test func passesEverythingWhenNoUpgradeComes() {
        let bytes = [UInt8]("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\nGET /c HT".utf8)
        // Upgrade without the Connection option is a plain request (and SwiftNIO's parser agrees).
        Self.expectEverySplit(bytes, passed: bytes.count, state: .following)
    }

    @Test func losesTrackOfWhatItCannotFollowAndPassesItOn() {
        // TLS in front of the hand-off: the first byte of a ClientHello is no method.
        let hello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]
        #expect(Self.feed(hello).passed == hello.count)
        if case .lostTrack = Self.feed(hello).state {} else { Issue.record("TLS bytes: \(Self.feed(hello).state)") }

        let upgradeWithBody = [UInt8]("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\nab".utf8)
        #expect(Self.feed(upgradeWithBody).passed == upgradeWithBody.count)
        #expect(Self.feed(upgradeWithBody).state == .lostTrack(.badRequest("upgrade request with a body")))

        // Smuggling-shaped framing is not guessed at.
        let both = [UInt8]("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n".utf8) + [UInt8](Self.upgrade.utf8)
        #expect(Self.feed(both).passed == both.count)
        if case .lostTrack = Self.feed(both).state {} else { Issue.record("CL+TE: \(Self.feed(both).state)") }
    }

    @Test func aHeadLongerThanTheLimitLosesTrackWithoutGrowing() {
        let limits = HTTPParserLimits(maxHeadSize: 64, maxBodySize: .max)
        let long = [UInt8]("GET / HTTP/1.1\r\nHost: h\r\nX: \(String(repeating: "a", count: 200))\r\n\r\n".utf8)
        let result = Self.feed(long, splits: Array(repeating: 7, count: 40), limits: limits)
        #expect(result.passed == long.count && result.state == .lostTrack(.headTooLarge))
    }

    @Test func leadingEmptyLinesAndConnectEndTheFollowing() {
        let connect = [UInt8]("\r\nCONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n".utf8)
        Self.expectEverySplit(connect + [1, 2, 3], passed: connect.count, state: .upgradeHeadEnded)
    }
}
