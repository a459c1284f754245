extension Server {
    /// Serves topics' history over HTTP at `path`, so a page can load its
    /// state and then subscribe from exactly where that state ends:
    ///
    /// `GET path?topic=T[&limit=N][&epoch=E&offset=O]` answers 200 with
    /// `{"topic":T,"epoch":E,"offset":O,"messages":[{"offset":…,"data":…},…]}`:
    /// the latest `limit` messages (default 100, at most 1,000), or the
    /// first ones after the position `epoch`/`offset`; the answer's
    /// `epoch`/`offset` is where they end, the `since` to subscribe with.
    /// A position the history cannot continue from gets 409 with
    /// `{"error":"epoch"|"expired"|"too_far"|"ahead","reason":…}`; a topic
    /// without history 404 (`not_kept`); a malformed query 400
    /// (`bad_request`). With a history backplane, a node serves the topics
    /// it follows (has subscribers of); others get 503 (`unavailable`).
    ///
    /// `authorize` decides each request with the topic it asks for; a
    /// refusal is 403. There is no open default.
    public func historyRoute(at path: String, authorize: @escaping @Sendable (Request, String) -> Bool) {
        let pubsub = self.pubsub
        router.get(path) { request in
            let query: HistoryQuery
            switch HistoryQuery.parse(request) {
            case .success(let parsed): query = parsed
            case .failure(let refusal): return refusal.response
            }
            guard authorize(request, query.topic) else {
                return HistoryRefusal(.forbidden, "forbidden", "not allowed to read \(query.topic)").response
            }
            do throws(HistoryError) {
                let page = try pubsub.history(of: query.topic, since: query.since, limit: query.limit)
                return .json(Self.json(topic: query.topic, page))
            } catch {
                return HistoryRefusal(error).response
            }
        }
    }

    private static func json(topic: String, _ page: HistoryPage) -> String {
        var text = #"{"topic":"# + jsonString(topic) + #","epoch":"# + jsonString(page.position.epoch)
            + #","offset":"# + String(page.position.offset) + #","messages":["#
        for (index, message) in page.messages.enumerated() {
            if index > 0 { text += "," }
            text += #"{"offset":"# + String(message.offset) + #","data":"# + message.json + "}"
        }
        return text + "]}"
    }
}

/// A history request's query, checked.
private struct HistoryQuery {
    static let maxLimit = 1_000

    var topic: String
    var since: StreamPosition?
    var limit: Int

    static func parse(_ request: Request) -> Result<HistoryQuery, HistoryRefusal> {
        guard let topic = request.queryValue("topic"), ClientRequest.isValidTopic(topic) else {
            return .failure(HistoryRefusal(.badRequest, "bad_request", "topic must be 1 to 256 bytes without control characters"))
        }
        var limit = 100
        if let text = request.queryValue("limit") {
            guard let value = Int(text), (1...maxLimit).contains(value) else {
                return .failure(HistoryRefusal(.badRequest, "bad_request", "limit must be 1 to \(maxLimit)"))
            }
            limit = value
        }
        var since: StreamPosition?
        switch (request.queryValue("epoch"), request.queryValue("offset")) {
        case (nil, nil): break
        case (let epoch?, let offset?):
            guard (1...ClientRequest.maxEpochLength).contains(epoch.utf8.count), let value = UInt64(offset), value <= ClientRequest.maxOffset else {
                return .failure(HistoryRefusal(.badRequest, "bad_request", "epoch must be 1 to 64 bytes and offset an integer from 0 to 2^53"))
            }
            since = StreamPosition(epoch: epoch, offset: value)
        default:
            return .failure(HistoryRefusal(.badRequest, "bad_request", "epoch and offset go together"))
        }
        return .success(HistoryQuery(topic: topic, since: since, limit: limit))
    }

    init(topic: String, since: StreamPosition?, limit: Int) {
        self.topic = topic
        self.since = since
        self.limit = limit
    }
}

/// A history request refused, as a JSON error.
private struct HistoryRefusal: Error {
    var status: HTTPResponse.Status
    var code: String
    var reason: String

    init(_ status: HTTPResponse.Status, _ code: String, _ reason: String) {
        self.status = status
        self.code = code
        self.reason = reason
    }

    init(_ error: HistoryError) {
        switch error {
        case .notKept: self.init(.notFound, "not_kept", "this topic keeps no history")
        case .epoch: self.init(.conflict, "epoch", "the position is from another epoch of the stream")
        case .expired: self.init(.conflict, "expired", "messages after the position expired")
        case .tooFar: self.init(.conflict, "too_far", "more was published since the position than the history holds")
        case .ahead: self.init(.conflict, "ahead", "the offset is past the stream's last message")
        case .unavailable: self.init(.serviceUnavailable, "unavailable", "this node does not follow the topic's stream right now")
        }
    }

    var response: Response {
        .json(#"{"error":"# + jsonString(code) + #","reason":"# + jsonString(reason) + "}", status: status)
    }
}
