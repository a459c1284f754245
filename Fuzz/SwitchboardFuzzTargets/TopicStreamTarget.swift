import SwitchboardHub

/// `topic-stream`: the input is a program of appends (size, time step),
/// expiries and reads run against `TopicStream`, the ring behind topic
/// history, and against a plain array that keeps every message and applies
/// the documented rules directly: what is kept, the byte count, and every
/// read's answer (complete, which gap, or ahead) must agree.
enum TopicStreamTarget {
    static let target = FuzzTarget(
        name: "topic-stream",
        summary: "TopicStream against a model: offsets, bounds, expiry, reads",
        check: check
    )

    /// The model: every message ever appended, and which are still kept.
    private struct Model {
        var messages: [(offset: UInt64, bytes: Int, time: UInt64)] = []
        var firstKept = 0
        var droppedForRoomThrough: UInt64 = 0
        var kept: ArraySlice<(offset: UInt64, bytes: Int, time: UInt64)> { messages[firstKept...] }
        var top: UInt64 { UInt64(messages.count) }

        mutating func expire(now: UInt64, limits: StreamLimits) {
            guard now > limits.retentionMilliseconds else { return }
            while firstKept < messages.count, messages[firstKept].time < now - limits.retentionMilliseconds { firstKept += 1 }
        }

        mutating func append(bytes: Int, now: UInt64, limits: StreamLimits) {
            expire(now: now, limits: limits)
            messages.append((top + 1, bytes, now))
            while kept.count > limits.maxMessages || (kept.reduce(0) { $0 + $1.bytes } > limits.maxBytes && kept.count > 1) {
                droppedForRoomThrough = messages[firstKept].offset
                firstKept += 1
            }
        }

        func read(since offset: UInt64, maxBytes: Int, limit: Int) -> StreamRead<UInt64> {
            guard offset <= top else { return .ahead }
            let missed = messages[Int(offset)...]
            if missed.isEmpty { return .complete([]) }
            guard missed.first!.offset >= (kept.first?.offset ?? top + 1) else {
                return .gap(offset + 1 <= droppedForRoomThrough ? .tooFar : .expired)
            }
            guard missed.count <= limit, missed.reduce(0, { $0 + $1.bytes }) <= maxBytes else { return .gap(.tooFar) }
            return .complete(missed.map(\.offset))
        }
    }

    static func check(_ input: [UInt8]) throws(PropertyViolation) {
        guard input.count >= 3 else { return }
        let limits = StreamLimits(
            maxMessages: 1 + Int(input[0] % 16), maxBytes: 16 + Int(input[1]) * 2, retentionMilliseconds: 50 + UInt64(input[2]) * 4)
        var stream = TopicStream<UInt64>(epoch: 7, now: 0)
        var model = Model()
        var now: UInt64 = 0
        var index = 3
        func next() -> Int {
            defer { index += 1 }
            return index < input.count ? Int(input[index]) : 0
        }
        while index < input.count {
            switch next() % 4 {
            case 0, 1:
                let bytes = 1 + next() % 40
                now += UInt64(next() % 32)
                let (offset, _) = stream.append(model.top + 1, bytes: bytes, now: now, limits: limits)
                model.append(bytes: bytes, now: now, limits: limits)
                try require(offset == model.top, "append gave offset \(offset), the model \(model.top)")
            case 2:
                now += UInt64(next() % 64)
                stream.expire(now: now, limits: limits)
                model.expire(now: now, limits: limits)
            default:
                let offset = UInt64(next()) % (model.top + 3)
                let maxBytes = next() < 128 ? Int.max : next() * 4
                let limit = next() < 200 ? Int.max : next() % 8
                let expected = model.read(since: offset, maxBytes: maxBytes, limit: limit)
                let got = stream.read(since: StreamPoint(epoch: 7, offset: offset), maxBytes: maxBytes, limit: limit)
                try require(got == expected, "read since \(offset) (maxBytes \(maxBytes), limit \(limit)): \(got), the model \(expected)")
                try require(stream.read(since: StreamPoint(epoch: 8, offset: offset)) == .gap(.epoch), "another epoch read as ours")
            }
            try require(stream.top == model.top, "top \(stream.top), the model \(model.top)")
            try require(stream.count == model.kept.count, "\(stream.count) kept, the model \(model.kept.count)")
            try require(stream.bytes == model.kept.reduce(0) { $0 + $1.bytes }, "bytes \(stream.bytes)")
            try require(stream.latest(3).map(\.entry) == model.kept.suffix(3).map(\.offset), "latest 3 differ")
        }
    }
}
