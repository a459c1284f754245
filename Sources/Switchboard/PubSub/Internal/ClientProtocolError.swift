/// One of the client protocol's error codes (Docs/client-protocol.md).
package struct ClientErrorCode: RawRepresentable, Hashable, Sendable {
    package let rawValue: String
    package init(rawValue: String) { self.rawValue = rawValue }

    /// Not JSON, not an object, a missing or wrong-typed field, an unknown
    /// `type`, or a binary frame.
    package static let badRequest = ClientErrorCode(rawValue: "bad_request")
    /// Empty, longer than 256 bytes, or containing control characters.
    package static let invalidTopic = ClientErrorCode(rawValue: "invalid_topic")
    /// The server's authorization hook refused.
    package static let forbidden = ClientErrorCode(rawValue: "forbidden")
    /// The per-connection subscription limit is reached.
    package static let tooManySubscriptions = ClientErrorCode(rawValue: "too_many_subscriptions")
    /// The connection published faster than the endpoint's rate limit.
    package static let rateLimited = ClientErrorCode(rawValue: "rate_limited")

    /// A history topic's backplane cannot be reached or read now.
    package static let unavailable = ClientErrorCode(rawValue: "unavailable")

    /// Every code the protocol document lists; a client knows no others.
    package static let documented: Set<ClientErrorCode> = [badRequest, invalidTopic, forbidden, tooManySubscriptions, rateLimited, unavailable]
}

/// A request the server refuses: the `error` frame's code, reason and the
/// request's `id` (nil when it had none or could not be read).
package struct ClientProtocolError: Error, Sendable, Equatable {
    package var code: ClientErrorCode
    package var reason: String
    /// JSON text, as in ``ClientRequest/id``.
    package var id: String?

    package init(_ code: ClientErrorCode, _ reason: String, id: String?) {
        self.code = code
        self.reason = reason
        self.id = id
    }

    /// The `error` frame: `{"type":"error","id":…,"code":…,"reason":…}`.
    package var replyText: String {
        #"{"type":"error","# + (id.map { #""id":"# + $0 + "," } ?? "") + #""code":"# + jsonString(code.rawValue)
            + #","reason":"# + jsonString(reason) + "}"
    }
}
