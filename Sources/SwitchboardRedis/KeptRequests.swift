import CHiredis
import Glibc
import Switchboard

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
            return (nil, (completion, ScriptReply.position(reply)))
        case .read(let read):
            guard let reply else { return (read, nil) }
            read.completion(ScriptReply.stream(reply))
            return (nil, nil)
        }
    }
}
