import CHiredis
import Switchboard
import Testing
@testable import SwitchboardRedis

@Suite("What goes to Redis")
struct RedisWireTests {
    @Test func commandsAreRESPArraysOfBulkStrings() {
        #expect(RedisCommand("PUBLISH", "a", "xyz").bytes == Array("*3\r\n$7\r\nPUBLISH\r\n$1\r\na\r\n$3\r\nxyz\r\n".utf8))
        #expect(RedisCommand("SUBSCRIBE", "").bytes == Array("*2\r\n$9\r\nSUBSCRIBE\r\n$0\r\n\r\n".utf8))
        // Binary-safe: CR LF inside an argument is just bytes with a length.
        var command = RedisCommand(argumentCount: 1)
        [UInt8]([0, 13, 10, 255]).withUnsafeBytes { command.append(argument: [UInt8(ascii: "h")], $0) }
        #expect(command.bytes == Array("*1\r\n$5\r\nh".utf8) + [0, 13, 10, 255, 13, 10])
        // hiredis reads the command as a C string: a NUL follows, uncounted.
        command.withCString { text, count in
            #expect(count == command.bytes.count)
            #expect(text[count] == 0)
        }
    }

    @Test func envelopeRoundTrip() {
        let sender = NodeID(high: 0x0102_0304_0506_0708, low: 0xF1F2_F3F4_F5F6_F7F8)
        for isText in [true, false] {
            let message = BackplaneEnvelope.header(sender: sender, isText: isText) + Array("héllo".utf8)
            #expect(message.count == BackplaneEnvelope.headerSize + 6)
            #expect(Array(message[2..<4]) == [0x01, 0x02])
            message.withUnsafeBytes { bytes in
                let decoded = BackplaneEnvelope.decode(bytes)
                #expect(decoded?.sender == sender)
                #expect(decoded?.isText == isText)
                #expect(decoded.map { Array($0.payload) } == Array("héllo".utf8))
            }
        }
    }

    @Test func foreignMessagesAreNotDecoded() {
        let valid = BackplaneEnvelope.header(sender: .random(), isText: false)
        for message in [[UInt8](), Array("hello from redis-cli".utf8), Array(valid.dropLast()),
                        [2] + valid.dropFirst(), [1, 4] + valid.dropFirst(2)] {
            #expect(message.withUnsafeBytes { BackplaneEnvelope.decode($0) } == nil)
        }
        #expect(valid.withUnsafeBytes { BackplaneEnvelope.decode($0)?.payload.count } == 0)
    }

    @Test func nodeIDsDiffer() {
        #expect(Set((0..<100).map { _ in NodeID.random() }).count == 100)
    }

    @Test func backoffDoublesWithJitterUpToTheMaximum() {
        var backoff = ReconnectBackoff(initial: 100, maximum: 1_000)
        // The lowest and the highest draw bound every delay.
        var low = backoff, high = backoff
        #expect((0..<6).map { _ in low.nextDelay { $0.lowerBound } } == [50, 100, 200, 400, 500, 500])
        #expect((0..<6).map { _ in high.nextDelay { $0.upperBound } } == [100, 200, 400, 800, 1_000, 1_000])
        for _ in 0..<5 { _ = backoff.nextDelay() }
        backoff.reset()
        #expect(backoff.nextDelay { $0.upperBound } == 100)
    }

    @Test func keptEnvelopesOnlyAsThePublishScriptWritesThem() {
        func decode(_ text: String) -> KeptEnvelope.Decoded? {
            Array(text.utf8).withUnsafeBytes { KeptEnvelope.decode($0) }
        }
        let good = decode("\u{2}00000000000000e1:42:{\"a\":1}")
        #expect(good?.epoch == "00000000000000e1" && good?.offset == 42 && good?.json == #"{"a":1}"#)
        #expect(decode("\u{2}00000000000000e1:9223372036854775807:1")?.offset == UInt64(Int64.max))
        for bad in [
            "\u{2}00000000000000e1:0:1",  // offsets begin at 1
            "\u{2}00000000000000e1:9223372036854775808:1",  // past Int64.max
            "\u{2}00000000000000e1:99999999999999999999999:1",
            "\u{2}0000000000000xe1:4:1",  // not hex
            "\u{2}00000000000000E1:4:1",  // not as a node writes it
            "\u{2}0000000000000000:4:1",  // no node makes epoch 0
            "\u{2}00000000000000e1:4",  // no JSON part
            "\u{2}00000000000000e1::1",
            "\u{1}00000000000000e1:4:1",
        ] {
            #expect(decode(bad) == nil, "\(bad)")
        }
    }

    /// The read script's reply as hiredis parses it from `resp`.
    private func streamReply(_ resp: String) -> KeptStream?? {
        let reader = redisReaderCreate()!
        defer { redisReaderFree(reader) }
        _ = resp.withCString { redisReaderFeed(reader, $0, resp.utf8.count) }
        var reply: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &reply) == REDIS_OK, let reply else { return nil }
        defer { freeReplyObject(reply) }
        return .some(ScriptReply.stream(reply.assumingMemoryBound(to: redisReply.self)))
    }

    @Test func streamReadsOnlyWithOffsetsInOrderUpToTheTop() {
        func reply(top: String, _ offsets: [String]) -> String {
            let items = ["00000000000000e1", top] + offsets.flatMap { [$0, "1"] }
            return "*\(items.count)\r\n" + items.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
        }
        let read = streamReply(reply(top: "7", ["5", "6", "7"]))
        #expect(read??.position.offset == 7 && read??.messages.map(\.offset) == [5, 6, 7])
        #expect(streamReply(reply(top: "7", []))??.messages.isEmpty == true)
        for (top, offsets) in [("7", ["6", "5"]), ("7", ["5", "5"]), ("7", ["8"]), ("7", ["0"]), ("9223372036854775808", ["1"]), ("x", [])] {
            let parsed = streamReply(reply(top: top, offsets))
            #expect(parsed != nil && parsed! == nil, "top \(top), \(offsets)")
        }
    }

    @Test func aReadWaitsForTheLastSubscriptionCommandOfItsTopic() {
        let kept = KeptRequests()
        kept.sentSubscription("t")
        #expect(kept.subscriptionAnswered("t", subscribed: true))
        // Unfollowed, then followed again before Redis answered either.
        kept.sentSubscription("t")
        kept.sentSubscription("t")
        #expect(!kept.confirmed.contains("t"))
        #expect(!kept.subscriptionAnswered("t", subscribed: false))
        #expect(!kept.confirmed.contains("t"))
        #expect(kept.subscriptionAnswered("t", subscribed: true))
        #expect(kept.confirmed.contains("t"))
        // A SUBSCRIBE answered while an UNSUBSCRIBE sent after it is on its way.
        kept.sentSubscription("u")
        kept.sentSubscription("u")
        #expect(!kept.subscriptionAnswered("u", subscribed: true))
        #expect(!kept.subscriptionAnswered("u", subscribed: false))
        #expect(!kept.confirmed.contains("u"))
        kept.subscriptionsReset()
        #expect(kept.confirmed.isEmpty)
    }
}
