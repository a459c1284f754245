import CHiredis
import Switchboard
import SwitchboardRedis

/// `redis-replies`: the input is what a Redis server, or whatever answers
/// in its place, sends on a backplane connection (RESP).
///
/// hiredis's reader, bounded as the backplane bounds it (`ReplyGuard`: no
/// array over 2^21 elements, none inside another),
/// fed whole, byte by byte and in pseudo-random pieces, gives the same
/// replies and the same error. Each reply is read as the subscriber
/// connection reads it (`SubscriberReply`) and as a history script's
/// answer (`ScriptReply`), and what is accepted holds:
/// - a kept envelope has a node's epoch, an offset in 1...Int64.max, and,
///   written again, decodes to itself;
/// - a plain envelope's header and payload are the message's bytes;
/// - a publish's position has a node's epoch and an offset above 0;
/// - a read has a node's epoch, a top of at most Int64.max, and offsets
///   rising from above 0 to at most the top, one per message pair.
enum RedisRepliesTarget {
    static let target = FuzzTarget(
        name: "redis-replies",
        summary: "hiredis's bounded reader whole vs split; SubscriberReply and ScriptReply accept only what the scripts and nodes write",
        check: check
    )

    static let channelPrefix = Array("sb:".utf8)

    /// A reply as a value, to compare the three feedings.
    indirect enum Reply: Equatable {
        case string(type: Int32, [UInt8])
        case integer(Int64)
        case array([Reply])
        case null
    }

    static func check(_ input: [UInt8]) throws(PropertyViolation) {
        var whole: [Reply] = []
        let wholeError = try read(InputSplits.whole(input)) { reply throws(PropertyViolation) in
            whole.append(describe(reply))
            try checkAsSubscriberReply(reply)
            try checkAsScriptReply(reply)
        }
        for (name, pieces) in [("byte by byte", InputSplits.bytes(input)), ("in random pieces", InputSplits.random(input, salt: 11))] {
            var split: [Reply] = []
            let error = try read(pieces) { reply throws(PropertyViolation) in split.append(describe(reply)) }
            try require(split == whole, "fed \(name): \(split.count) replies differ from the \(whole.count) read whole")
            try require(error == wholeError, "fed \(name): error \(error ?? "none"), whole: \(wholeError ?? "none")")
        }
    }

    /// Feeds `pieces` to a bounded reader and hands over each reply;
    /// returns the reader's error, if it stopped on one.
    private static func read(
        _ pieces: [ArraySlice<UInt8>], _ body: (UnsafeMutablePointer<redisReply>) throws(PropertyViolation) -> Void
    ) throws(PropertyViolation) -> String? {
        guard let reader = redisReaderCreate() else { throw PropertyViolation("no reader") }
        defer { redisReaderFree(reader) }
        ReplyGuard.install(on: reader)
        for piece in pieces {
            let fed = piece.withUnsafeBytes { redisReaderFeed(reader, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
            guard fed == REDIS_OK else { return errorText(reader) }
            while true {
                var reply: UnsafeMutableRawPointer?
                guard redisReaderGetReply(reader, &reply) == REDIS_OK else { return errorText(reader) }
                guard let reply else { break }
                defer { freeReplyObject(reply) }
                try body(reply.assumingMemoryBound(to: redisReply.self))
            }
        }
        return nil
    }

    private static func errorText(_ reader: UnsafeMutablePointer<redisReader>) -> String {
        withUnsafeBytes(of: reader.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private static func describe(_ reply: UnsafeMutablePointer<redisReply>) -> Reply {
        switch reply.pointee.type {
        case REDIS_REPLY_INTEGER:
            return .integer(reply.pointee.integer)
        case REDIS_REPLY_ARRAY:
            let elements = (0..<reply.pointee.elements).map { reply.pointee.element[$0].map(describe) ?? .null }
            return .array(elements)
        case REDIS_REPLY_NIL:
            return .null
        default:
            return .string(type: reply.pointee.type, bytes(reply))
        }
    }

    private static func bytes(_ reply: UnsafeMutablePointer<redisReply>) -> [UInt8] {
        guard let text = reply.pointee.str else { return [] }
        return Array(UnsafeRawBufferPointer(start: text, count: reply.pointee.len))
    }

    private static func checkAsSubscriberReply(_ reply: UnsafeMutablePointer<redisReply>) throws(PropertyViolation) {
        if case .array(let elements) = describe(reply) {
            try require(elements.count <= Int(ReplyGuard.maxArrayElements), "an array of \(elements.count) past the bound")
            try require(!elements.contains { if case .array = $0 { true } else { false } }, "an array inside a reply")
        }
        switch SubscriberReply(reply, channelPrefix: channelPrefix) {
        case .kept(_, let envelope):
            try require(KeptEnvelope.isEpoch(envelope.epoch.utf8), "kept envelope with epoch \(envelope.epoch)")
            try require((1...UInt64(Int64.max)).contains(envelope.offset), "kept envelope with offset \(envelope.offset)")
            let again = [KeptEnvelope.version] + Array(envelope.epoch.utf8) + Array(":\(envelope.offset):\(envelope.json)".utf8)
            let decoded = again.withUnsafeBytes { KeptEnvelope.decode($0) }
            try require(decoded == envelope, "kept envelope written again decodes to \(String(describing: decoded)), not \(envelope)")
        case .message(_, let envelope):
            let data = bytes(reply.pointee.element[2]!)
            let written = BackplaneEnvelope.header(sender: envelope.sender, isText: envelope.isText) + Array(envelope.payload)
            try require(written == data, "plain envelope of \(data.count) bytes reads as \(written.count) others")
        case .confirmation, .unknownFormat, .ignored:
            break
        }
    }

    private static func checkAsScriptReply(_ reply: UnsafeMutablePointer<redisReply>) throws(PropertyViolation) {
        if let position = ScriptReply.position(reply) {
            try require(KeptEnvelope.isEpoch(position.epoch.utf8), "publish position with epoch \(position.epoch)")
            try require(position.offset > 0, "publish position at offset 0")
        }
        guard let stream = ScriptReply.stream(reply) else { return }
        try require(KeptEnvelope.isEpoch(stream.position.epoch.utf8), "read with epoch \(stream.position.epoch)")
        try require(stream.position.offset <= UInt64(Int64.max), "read with top \(stream.position.offset)")
        try require(stream.messages.count == (reply.pointee.elements - 2) / 2, "read of \(reply.pointee.elements) elements has \(stream.messages.count) messages")
        var previous: UInt64 = 0
        for message in stream.messages {
            try require(message.offset > previous && message.offset <= stream.position.offset,
                        "read's offset \(message.offset) after \(previous), top \(stream.position.offset)")
            previous = message.offset
        }
    }
}
