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
    /// connection: a read sent now cannot miss what comes next.
    var confirmed: Set<String> = []
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
    /// Returns a read to send again: a lost connection is not the read's answer.
    func answered(_ reply: UnsafeMutablePointer<redisReply>?) -> Read? {
        guard answeredCount < sent.count else { return nil }
        let request = sent[answeredCount]
        answeredCount += 1
        if answeredCount == sent.count {
            sent.removeAll(keepingCapacity: true)
            answeredCount = 0
        }
        switch request {
        case .publish(let completion):
            completion(Self.position(reply))
            return nil
        case .read(let read):
            guard let reply else { return read }
            read.completion(Self.stream(reply))
            return nil
        }
    }

    /// `{epoch, offset}` from the publish script.
    static func position(_ reply: UnsafeMutablePointer<redisReply>?) -> StreamPosition? {
        guard let reply, reply.pointee.type == REDIS_REPLY_ARRAY, reply.pointee.elements == 2, let elements = reply.pointee.element,
              let epoch = string(elements[0]), let offset = elements[1], offset.pointee.type == REDIS_REPLY_INTEGER, offset.pointee.integer > 0
        else { return nil }
        return StreamPosition(epoch: epoch, offset: UInt64(offset.pointee.integer))
    }

    /// `{epoch, top, offset, json, ...}` from the read script.
    static func stream(_ reply: UnsafeMutablePointer<redisReply>) -> KeptStream? {
        guard reply.pointee.type == REDIS_REPLY_ARRAY, reply.pointee.elements >= 2, reply.pointee.elements % 2 == 0,
              let elements = reply.pointee.element,
              let epoch = string(elements[0]), let top = string(elements[1]).flatMap({ UInt64($0) })
        else { return nil }
        var messages: [HistoryMessage] = []
        for index in stride(from: 2, to: reply.pointee.elements, by: 2) {
            guard let offset = string(elements[index]).flatMap({ UInt64($0) }), let json = string(elements[index + 1]) else { return nil }
            messages.append(HistoryMessage(offset: offset, json: json))
        }
        return KeptStream(position: StreamPosition(epoch: epoch, offset: top), messages: messages)
    }

    private static func string(_ element: UnsafeMutablePointer<redisReply>?) -> String? {
        guard let element, element.pointee.type == REDIS_REPLY_STRING, let bytes = element.pointee.str else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: element.pointee.len), as: UTF8.self)
    }
}
