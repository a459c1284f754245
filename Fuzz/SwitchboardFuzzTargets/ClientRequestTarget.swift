import Foundation
import Switchboard

/// `client-json`: the input is the text of one frame a browser sends to the
/// pub/sub endpoint (Docs/client-protocol.md).
///
/// ``ClientRequest/decode(_:)`` never crashes; a refusal carries one of the
/// documented error codes a decoder can give (`bad_request`,
/// `invalid_topic`); an accepted request has a valid topic and the type the
/// frame names. Every frame the server would answer with (error, ack, the
/// `message` subscribers get) is a JSON object that reads back to the same
/// code, reason, id, topic and data.
enum ClientRequestTarget {
    static let target = FuzzTarget(
        name: "client-json",
        summary: "ClientRequest.decode and the frames it leads to",
        check: check
    )

    static func check(_ input: [UInt8]) throws(PropertyViolation) {
        let text = String(decoding: input, as: UTF8.self)
        switch ClientRequest.decode(text) {
        case .failure(let error):
            try require(ClientErrorCode.documented.contains(error.code), "undocumented error code \(error.code.rawValue)")
            try require(error.code == .badRequest || error.code == .invalidTopic, "decoding refused with \(error.code.rawValue)")
            try require(!error.reason.isEmpty, "an error without a reason")
            let reply = try object(error.replyText)
            try require(reply["type"] as? String == "error", "\(error.replyText) is not an error")
            try require(reply["code"] as? String == error.code.rawValue, "\(error.replyText) lost its code")
            try require(reply["reason"] as? String == error.reason, "\(error.replyText) lost its reason")
            try requireSameJSON(reply["id"], error.id, in: error.replyText)
        case .success(let request):
            try require(isDocumentedTopic(request.topic), "accepted topic \(request.topic.debugDescription)")
            let frame = try object(text)
            try require(frame["topic"] as? String == request.topic, "decoded topic differs from the frame's")
            let ack: String
            switch request.action {
            case .subscribe, .unsubscribe:
                try require(frame["type"] as? String == (request.action == .subscribe ? "subscribe" : "unsubscribe"), "wrong type")
                ack = ClientFrame.ack(id: request.id ?? "0")
                if let since = request.since {
                    let sent = frame["since"] as? [String: Any]
                    try require(sent?["epoch"] as? String == since.epoch, "decoded since.epoch differs from the frame's")
                    try require((1...64).contains(since.epoch.utf8.count), "accepted an epoch of \(since.epoch.utf8.count) bytes")
                    try require(since.offset <= 1 << 53 && (sent?["offset"] as? NSNumber)?.doubleValue == Double(since.offset), "decoded since.offset differs")
                } else {
                    try require(frame["since"] == nil || request.action == .unsubscribe, "a since the decoder did not read")
                }
            case .publish(let data):
                try require(frame["type"] as? String == "publish", "decoded publish from another type")
                ack = ClientFrame.ack(id: request.id ?? "0", subscribers: 3)
                let message = ClientFrame.message(topic: request.topic, json: data)
                let delivered = try object(message)
                try require(delivered["topic"] as? String == request.topic, "\(message) lost its topic")
                try requireSameJSON(delivered["data"], data, in: message)
                let (kept, dataStart) = ClientFrame.message(topic: request.topic, offset: 42, json: data)
                let keptObject = try object(kept)
                try require(keptObject["offset"] as? Int == 42, "\(kept) lost its offset")
                try requireSameJSON(keptObject["data"], data, in: kept)
                try require(String(decoding: Array(kept.utf8)[dataStart..<(kept.utf8.count - 1)], as: UTF8.self) == data, "\(kept): data not where its start says")
            }
            let acked = try object(ack)
            try require(acked["type"] as? String == "ack", "\(ack) is not an ack")
            try requireSameJSON(acked["id"], request.id ?? "0", in: ack)
        }
    }

    /// The protocol document's rule, written apart from the decoder's:
    /// 1 to 256 bytes, no C0 or C1 control characters (Unicode's Cc).
    private static func isDocumentedTopic(_ topic: String) -> Bool {
        (1...256).contains(topic.utf8.count)
            && topic.unicodeScalars.allSatisfy { !(0...0x1F).contains($0.value) && !(0x7F...0x9F).contains($0.value) }
    }

    private static func object(_ text: String) throws(PropertyViolation) -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw PropertyViolation("not a JSON object: \(text)")
        }
        return object
    }

    /// `value`, read from a frame, is the JSON value `text` (nil: absent).
    private static func requireSameJSON(_ value: Any?, _ text: String?, in frame: String) throws(PropertyViolation) {
        guard let text else {
            try require(value == nil, "\(frame) has an id the request had not")
            return
        }
        guard let value else { throw PropertyViolation("\(frame) lost the value \(text)") }
        try require(
            canonical(value) == canonical(try fragment(text)),
            "\(frame) carries \(canonical(value)) instead of \(text)"
        )
    }

    private static func fragment(_ text: String) throws(PropertyViolation) -> Any {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed) else {
            throw PropertyViolation("not JSON: \(text)")
        }
        return value
    }

    /// One spelling per JSON value, to compare two parsed values.
    private static func canonical(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) else {
            return "<not serialisable>"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
