package import CHiredis
package import Switchboard

/// What the history scripts answer (`RedisHistoryScripts`), read from
/// hiredis's reply: nil for anything the scripts do not write, so that
/// neither a tampered stream nor another program's reply can reach the
/// mirror's offset arithmetic.
package enum ScriptReply {
    /// `{epoch, offset}` from the publish script. Any other epoch than a
    /// node's 16 hex digits is not the script's answer (the hub would read
    /// it as epoch 0, a subscriber's pending mark): the publish failed.
    package static func position(_ reply: UnsafeMutablePointer<redisReply>?) -> StreamPosition? {
        guard let reply, reply.pointee.type == REDIS_REPLY_ARRAY, reply.pointee.elements == 2, let elements = reply.pointee.element,
              let epoch = string(elements[0]), KeptEnvelope.isEpoch(epoch.utf8), let offset = elements[1], offset.pointee.type == REDIS_REPLY_INTEGER, offset.pointee.integer > 0
        else { return nil }
        return StreamPosition(epoch: epoch, offset: UInt64(offset.pointee.integer))
    }

    /// `{epoch, top, offset, json, ...}` from the read script; nil for
    /// anything else (offsets out of order, past the top, 0, or past
    /// `Int64.max`: what a tampered stream could hold).
    package static func stream(_ reply: UnsafeMutablePointer<redisReply>) -> KeptStream? {
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
