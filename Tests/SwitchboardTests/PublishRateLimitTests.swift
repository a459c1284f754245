import Foundation
import Testing
import TestSupport
@testable import Switchboard

@Suite("Publish rate limit")
struct PublishRateLimitTests {
    @Test func theBucketAllowsABurstThenTheRateAndNeverMoreThanABurstAfterQuiet() {
        let limit = PublishRateLimit(perSecond: 10, burst: 3)
        var bucket = TokenBucket(limit, now: 1_000)
        var first: [Bool] = []
        for _ in 0..<5 { first.append(bucket.take(limit, now: 1_000)) }
        #expect(first == [true, true, true, false, false])
        // 10 a second: one token every 100 ms, not before.
        let steps = [bucket.take(limit, now: 1_099), bucket.take(limit, now: 1_100), bucket.take(limit, now: 1_100)]
        #expect(steps == [false, true, false])
        // An hour of quiet refills the burst, no more.
        let later: UInt64 = 3_601_100
        var refilled: [Bool] = []
        for _ in 0..<5 { refilled.append(bucket.take(limit, now: later)) }
        #expect(refilled == [true, true, true, false, false])
        // A slow rate refills exactly: 1 a second, in pieces of 250 ms.
        let slow = PublishRateLimit(perSecond: 1, burst: 1)
        var trickle = TokenBucket(slow, now: 0)
        let atOnce = trickle.take(slow, now: 0)
        #expect(atOnce)
        var early: [Bool] = []
        for now: UInt64 in [250, 500, 750] { early.append(trickle.take(slow, now: now)) }
        #expect(early == [false, false, false])
        let afterASecond = trickle.take(slow, now: 1_000)
        #expect(afterASecond)
    }

    @Test func aClientPublishingTooFastGetsRateLimitedAndKeepsItsConnection() throws {
        let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1))
        server.pubsubEndpoint("/pubsub", configuration: WebSocketConfiguration(origins: .any), authorizer: PubSubAuthorizer(),
                              publishRateLimit: PublishRateLimit(perSecond: 5, burst: 5))
        let port = try server.start().port
        defer { try? server.stop() }
        let client = try TestWebSocket(port: port, path: "/pubsub")
        for id in 1...20 {
            try client.send(text: #"{"type":"publish","topic":"t","data":\#(id),"id":\#(id)}"#)
        }
        var acked: [Int] = []
        var limited: [Int] = []
        for _ in 1...20 {
            let reply = try json(try client.receiveNonPing())
            let id = reply["id"] as? Int ?? 0
            if reply["type"] as? String == "ack" { acked.append(id) }
            if reply["code"] as? String == "rate_limited" { limited.append(id) }
        }
        // The burst, and a token more for every 200 ms the 20 took to
        // arrive (a busy machine may spread them over a few reads).
        #expect(acked.count >= 5 && acked.count <= 10 && acked.prefix(5) == [1, 2, 3, 4, 5], "\(acked)")
        #expect(limited.count == 20 - acked.count)
        // The connection is still served; a moment later it may publish again.
        try client.send(text: #"{"type":"subscribe","topic":"t","id":100}"#)
        #expect(try json(try client.receiveNonPing())["id"] as? Int == 100)
        usleep(300_000)
        try client.send(text: #"{"type":"publish","topic":"t","data":"again","id":101}"#)
        let replies = try [json(try client.receiveNonPing()), json(try client.receiveNonPing())]
        #expect(replies.contains { $0["type"] as? String == "ack" && $0["id"] as? Int == 101 }, "\(replies)")
    }
}
