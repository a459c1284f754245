import CHiredis
import Glibc
public import Switchboard

/// The history requests of a `RedisBackplane`, on its loop: the scripts
/// sent and waiting for their replies (answered in the order sent, on the
/// publishing connection), the reads waiting until their topic's
/// subscription is confirmed, and which subscriptions are.
final class KeptRequests {
    struct Read {
        let topic: String
        let after: UInt64?
        let limits: KeptLimits
        let completion: @Sendable (KeptStream?) -> Void
    }

    enum Sent {
        case publish(@Sendable (StreamPosition?) -> Void)
        case read(Read)
    }

    /// Scripts sent, oldest first (`sent[answeredCount...]` wait for replies).
    private var sent: [Sent] = []
    private var answeredCount = 0
    /// Topics whose SUBSCRIBE Redis confirmed on the current subscriber
    /// connection, with no (UN)SUBSCRIBE sent since: a read sent now
    /// cannot miss what comes next.
    private(set) var confirmed: Set<String> = []
    /// (UN)SUBSCRIBE commands sent for each topic and not yet answered.
    private var subscriptionsInFlight: [String: Int] = [:]

    /// A SUBSCRIBE or UNSUBSCRIBE of `topic` was sent: until it is
    /// answered, what is confirmed may be undone (unfollowed, then
    /// followed again, a read could run before the new SUBSCRIBE).
    func sentSubscription(_ topic: String) {
        subscriptionsInFlight[topic, default: 0] += 1
        confirmed.remove(topic)
    }

    /// Redis answered a SUBSCRIBE (`subscribed`) or UNSUBSCRIBE of
    /// `topic`; true when that confirms the subscription (the last command
    /// sent for it was this SUBSCRIBE): its reads may go.
    func subscriptionAnswered(_ topic: String, subscribed: Bool) -> Bool {
        let left = max(subscriptionsInFlight[topic, default: 0] - 1, 0)
        subscriptionsInFlight[topic] = left == 0 ? nil : left
        guard subscribed, left == 0 else { return false }
        confirmed.insert(topic)
        return true
    }

    /// The subscriber connection is new or gone: nothing is subscribed.
    func subscriptionsReset() {
        confirmed = []
        subscriptionsInFlight = [:]
    }
    /// Reads waiting for a confirmation or for the publishing connection.
    private var waiting: [String: [Read]] = [:]

    var waitingTopics: [String] { Array(waiting.keys) }

    func wait(_ read: Read) { waiting[read.topic, default: []].append(read) }

    /// The reads of `topic` that may go now.
    func takeReads(of topic: String) -> [Read] {
        guard confirmed.contains(topic) else { return [] }
        return waiting.removeValue(forKey: topic) ?? []
    }

    /// Gives up the reads of `topic` (nobody follows it any more).
    func dropReads(of topic: String) {
        for read in waiting.removeValue(forKey: topic) ?? [] { read.completion(nil) }
    }

    func dropAllReads() {
        for topic in Array(waiting.keys) { dropReads(of: topic) }
    }

    func didSend(_ request: Sent) { sent.append(request) }

    /// The next script's reply (nil when the connection ended first).
    /// Returns a read to send again (a lost connection is not the read's
    /// answer), or a publish's completion with its position (nil: it
    /// failed), for the caller to count before calling it.
    func answered(_ reply: UnsafeMutablePointer<redisReply>?) -> (again: Read?, publish: (@Sendable (StreamPosition?) -> Void, StreamPosition?)?) {
        guard answeredCount < sent.count else { return (nil, nil) }
        let request = sent[answeredCount]
        answeredCount += 1
        if answeredCount == sent.count {
            sent.removeAll(keepingCapacity: true)
            answeredCount = 0
        }
        switch request {
        case .publish(let completion):
            return (nil, (completion, Self.position(reply)))
        case .read(let read):
            guard let reply else { return (read, nil) }
            read.completion(Self.stream(reply))
            return (nil, nil)
        }
    }

    /// `{epoch, offset}` from the publish script.
    static func position(_ reply: UnsafeMutablePointer<redisReply>?) -> StreamPosition? {
        guard let reply, reply.pointee.type == REDIS_REPLY_ARRAY, reply.pointee.elements == 2, let elements = reply.pointee.element,
              let epoch = string(elements[0]), let offset = elements[1], offset.pointee.type == REDIS_REPLY_INTEGER, offset.pointee.integer > 0
        else { return nil }
        return StreamPosition(epoch: epoch, offset: UInt64(offset.pointee.integer))
    }

    /// `{epoch, top, offset, json, ...}` from the read script; nil for
    /// anything else (offsets out of order, past the top, 0, or past
    /// `Int64.max`: what a tampered stream could hold).
    static func stream(_ reply: UnsafeMutablePointer<redisReply>) -> KeptStream? {
        guard reply.pointee.type == REDIS_REPLY_ARRAY, reply.pointee.elements >= 2, reply.pointee.elements % 2 == 0,
              let elements = reply.pointee.element,
              let epoch = string(elements[0]), KeptEnvelope.isEpoch(epoch.utf8),
              let top = string(elements[1]).flatMap({ UInt64($0) }), top <= UInt64(Int64.max)
        else { return nil }
        var messages: [HistoryMessage] = []
        for index in stride(from: 2, to: reply.pointee.elements, by: 2) {
            guard let offset = string(elements[index]).flatMap({ UInt64($0) }), offset > (messages.last?.offset ?? 0), offset <= top,
                  let json = string(elements[index + 1])
            else { return nil }
            messages.append(HistoryMessage(offset: offset, json: json))
        }
        return KeptStream(position: StreamPosition(epoch: epoch, offset: top), messages: messages)
    }

    private static func string(_ element: UnsafeMutablePointer<redisReply>?) -> String? {
        guard let element, element.pointee.type == REDIS_REPLY_STRING, let bytes = element.pointee.str else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: element.pointee.len), as: UTF8.self)
    }
}
