package import CHiredis

/// What a reply on the subscriber connection is, decided from its bytes
/// alone (no backplane state), so that a fuzz target can feed it anything
/// a peer could send: `["message", channel, data]` with one of the two
/// envelopes, or a `["subscribe" | "unsubscribe", channel, count]`
/// confirmation. The envelopes' bytes point into the reply: use them
/// before it is freed.
package enum SubscriberReply {
    /// Redis confirmed a SUBSCRIBE (or an UNSUBSCRIBE) of `topic`.
    case confirmation(topic: String, subscribed: Bool)
    /// A history topic's message, as the publish script wrote it.
    case kept(topic: String, KeptEnvelope.Decoded)
    /// A plain message from a node (maybe this one).
    case message(topic: String, BackplaneEnvelope.Decoded)
    /// A message on one of our channels in a format this node does not know.
    case unknownFormat(channel: String)
    /// Anything else (another shape, a channel shorter than the prefix).
    case ignored

    package init(_ reply: UnsafeMutablePointer<redisReply>?, channelPrefix: [UInt8]) {
        guard let reply, reply.pointee.type == REDIS_REPLY_ARRAY, reply.pointee.elements == 3,
              let elements = reply.pointee.element,
              let kind = elements[0], let channel = elements[1], let data = elements[2],
              kind.pointee.type == REDIS_REPLY_STRING, channel.pointee.type == REDIS_REPLY_STRING,
              channel.pointee.len >= channelPrefix.count
        else {
            self = .ignored
            return
        }
        let channelBytes = UnsafeRawBufferPointer(start: channel.pointee.str, count: channel.pointee.len)
        let kindBytes = UnsafeRawBufferPointer(start: kind.pointee.str, count: kind.pointee.len)
        let topic = { String(decoding: channelBytes[channelPrefix.count...], as: UTF8.self) }
        if kindBytes.elementsEqual("subscribe".utf8) || kindBytes.elementsEqual("unsubscribe".utf8) {
            self = .confirmation(topic: topic(), subscribed: kindBytes.count == 9)
            return
        }
        guard kindBytes.elementsEqual("message".utf8), data.pointee.type == REDIS_REPLY_STRING else {
            self = .ignored
            return
        }
        let message = UnsafeRawBufferPointer(start: data.pointee.str, count: data.pointee.len)
        if message.first == KeptEnvelope.version {
            // A kept envelope that does not decode is dropped, not shown
            // to subscribers as some other format's.
            self = KeptEnvelope.decode(message).map { .kept(topic: topic(), $0) } ?? .ignored
        } else if let envelope = BackplaneEnvelope.decode(message) {
            self = .message(topic: topic(), envelope)
        } else {
            self = .unknownFormat(channel: String(decoding: channelBytes, as: UTF8.self))
        }
    }
}
