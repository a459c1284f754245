import Foundation

/// One request of the client protocol (Docs/client-protocol.md), read from
/// a text frame but not yet authorised or carried out.
///
/// Decoding is a pure function of the frame's text, so the handler only
/// decides what the request may do, and the fuzz target can reach every
/// refusal without a socket.
package struct ClientRequest: Sendable, Equatable {
    package enum Action: Sendable, Equatable {
        case subscribe
        case unsubscribe
        /// `data` as JSON text, written again from the parsed value.
        case publish(data: String)
    }

    package var action: Action
    package var topic: String
    /// The request's `id` as JSON text, echoed verbatim in its `ack` or `error`.
    package var id: String?
    /// A `subscribe`'s `since`: the last position the client saw.
    package var since: StreamPosition?

    package init(action: Action, topic: String, id: String?, since: StreamPosition? = nil) {
        self.action = action
        self.topic = topic
        self.id = id
        self.since = since
    }

    /// Longest epoch a `since` may carry, in UTF-8 bytes (ours are 16).
    package static let maxEpochLength = 64
    /// Largest offset a `since` may carry: JSON numbers are exact up to 2^53.
    package static let maxOffset: UInt64 = 1 << 53

    /// Longest topic name the client protocol accepts, in UTF-8 bytes.
    package static let maxTopicLength = 256

    /// Reads one text frame. The checks run in a fixed order, so a frame
    /// with several problems always gets the same answer: not a JSON
    /// object, no `type`, no `topic`, an invalid topic, an unknown `type`,
    /// a `publish` without `data`. Only the first of these has no `id`.
    package static func decode(_ text: String) -> Result<ClientRequest, ClientProtocolError> {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [])) as? [String: Any] else {
            return .failure(ClientProtocolError(.badRequest, "expected a JSON object", id: nil))
        }
        let id = object["id"].flatMap(jsonText)
        guard let type = object["type"] as? String else {
            return .failure(ClientProtocolError(.badRequest, "missing type", id: id))
        }
        guard let topic = object["topic"] as? String else {
            return .failure(ClientProtocolError(.badRequest, "missing topic", id: id))
        }
        guard isValidTopic(topic) else {
            return .failure(ClientProtocolError(
                .invalidTopic, "topics are 1 to \(maxTopicLength) bytes without control characters", id: id))
        }
        switch type {
        case "subscribe":
            guard let since = object["since"] else {
                return .success(ClientRequest(action: .subscribe, topic: topic, id: id))
            }
            guard let position = position(since) else {
                return .failure(ClientProtocolError(
                    .badRequest, "since needs epoch (a string of 1 to \(maxEpochLength) bytes) and offset (an integer from 0 to 2^53)", id: id))
            }
            return .success(ClientRequest(action: .subscribe, topic: topic, id: id, since: position))
        case "unsubscribe":
            return .success(ClientRequest(action: .unsubscribe, topic: topic, id: id))
        case "publish":
            guard let data = object["data"], let json = jsonText(data) else {
                return .failure(ClientProtocolError(.badRequest, "publish needs data", id: id))
            }
            return .success(ClientRequest(action: .publish(data: json), topic: topic, id: id))
        default:
            return .failure(ClientProtocolError(.badRequest, "unknown type \(type)", id: id))
        }
    }

    /// 1 to 256 bytes of UTF-8 with no control characters.
    package static func isValidTopic(_ topic: String) -> Bool {
        !topic.isEmpty && topic.utf8.count <= maxTopicLength
            && !topic.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}

/// A `since` object's position, or nil when it is not one.
private func position(_ value: Any) -> StreamPosition? {
    guard let object = value as? [String: Any], let epoch = object["epoch"] as? String,
          !epoch.isEmpty, epoch.utf8.count <= ClientRequest.maxEpochLength,
          // JSON's true and false arrive as NSNumbers too, typed "c".
          let number = object["offset"] as? NSNumber, String(cString: number.objCType) != "c"
    else { return nil }
    let double = number.doubleValue
    guard double >= 0, double <= Double(ClientRequest.maxOffset), double.rounded() == double else { return nil }
    return StreamPosition(epoch: epoch, offset: UInt64(double))
}

/// A JSON value's text (fragments allowed), or nil if it cannot be written.
private func jsonText(_ value: Any) -> String? {
    guard JSONSerialization.isValidJSONObject([value]),
          let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes]) else {
        return nil
    }
    return String(decoding: data, as: UTF8.self)
}
