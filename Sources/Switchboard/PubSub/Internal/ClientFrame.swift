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
