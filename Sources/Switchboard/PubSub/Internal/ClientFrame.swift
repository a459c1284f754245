import SwitchboardHub

/// The frames the client protocol sends besides errors (Docs/client-protocol.md).
package enum ClientFrame {
    /// The `ack` of a `subscribe` or `unsubscribe` that had an `id`.
    package static func ack(id: String) -> String {
        #"{"type":"ack","id":"# + id + "}"
    }

    /// The `ack` of a `publish` that had an `id`: how many subscribers it reached.
    package static func ack(id: String, subscribers: Int) -> String {
        #"{"type":"ack","id":"# + id + #","subscribers":"# + String(subscribers) + "}"
    }

    /// The `ack` of a `publish` on a history topic: also the message's place.
    static func ack(id: String, subscribers: Int, position: StreamPoint) -> String {
        #"{"type":"ack","id":"# + id + #","subscribers":"# + String(subscribers) + #","epoch":""#
            + position.epochText + #"","offset":"# + String(position.offset) + "}"
    }

    /// The `ack` of a `subscribe` on a history topic: the stream's position
    /// and, when the request asked to recover, whether it did.
    static func subscribeAck(id: String?, position: StreamPoint?, recovered: Bool?, reason: String?) -> String {
        var text = #"{"type":"ack""#
        if let id { text += #","id":"# + id }
        if let position { text += #","epoch":""# + position.epochText + #"","offset":"# + String(position.offset) }
        if let recovered { text += #","recovered":"# + (recovered ? "true" : "false") }
        if let reason { text += #","reason":"# + jsonString(reason) }
        return text + "}"
    }

    /// A `reset`: `topic`'s stream started again at `position`.
    static func reset(topic: String, position: StreamPoint) -> String {
        #"{"type":"reset","topic":"# + jsonString(topic) + #","epoch":""# + position.epochText + #"","offset":"# + String(position.offset) + "}"
    }

    /// A `message` on a history topic, with its offset; also where its
    /// `data` starts in the text's UTF-8 (it ends before the final `}`).
    package static func message(topic: String, offset: UInt64, json: String) -> (text: String, dataStart: Int) {
        let head = #"{"type":"message","topic":"# + jsonString(topic) + #","offset":"# + String(offset) + #","data":"#
        return (head + json + "}", head.utf8.count)
    }

    /// A `message`: `json` (valid JSON text) published on `topic`.
    package static func message(topic: String, json: String) -> String {
        #"{"type":"message","topic":"# + jsonString(topic) + #","data":"# + json + "}"
    }
}

/// A Swift string as a JSON string literal (RFC 8259 §7).
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
