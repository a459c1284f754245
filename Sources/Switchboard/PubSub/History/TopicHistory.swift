/// Which topics keep their latest messages, so a client that reconnects
/// gets exactly what it missed (Docs/client-protocol.md, "History and
/// recovery"). Off unless a rule names a topic: topics no rule matches
/// cost nothing more on the publish path.
///
/// History keeps the client protocol's messages: `pubsub.publish(_:json:)`
/// and clients' publishes. Text and binary published with
/// `publish(_:text:)` or `publish(_:binary:)` are delivered but not kept.
public struct TopicHistory: Sendable {
    /// The first rule that matches a topic decides its limits.
    public var rules: [HistoryRule]
    /// Bytes all history on this node may hold, messages and positions
    /// together; past it the oldest messages of every topic go first.
    /// Default 64 MiB.
    public var memoryBudget: Int
    /// How long a topic's position (epoch and offset) outlives its last
    /// message and last subscriber, so a client coming back after its
    /// messages expired is still told "recovered" when it missed nothing.
    /// Default 24 hours.
    public var positionRetention: Duration

    public init(rules: [HistoryRule] = [], memoryBudget: Int = 64 << 20, positionRetention: Duration = .seconds(24 * 3600)) {
        self.rules = rules
        self.memoryBudget = memoryBudget
        self.positionRetention = positionRetention
    }

    /// The limits of `topic`, or nil when it keeps no history.
    func policy(for topic: String) -> HistoryPolicy? {
        for rule in rules where rule.matches(topic) { return rule.policy }
        return nil
    }
}

/// Selects topics that keep history, and how much.
public struct HistoryRule: Sendable {
    private enum Selector: Sendable {
        case prefix(String)
        case predicate(@Sendable (String) -> Bool)
    }

    private let selector: Selector
    public let policy: HistoryPolicy

    /// Topics that start with `prefix` ("" matches every topic).
    public static func prefix(_ prefix: String, _ policy: HistoryPolicy = HistoryPolicy()) -> HistoryRule {
        HistoryRule(selector: .prefix(prefix), policy: policy)
    }

    /// Topics for which `predicate` is true. It runs on every publish and
    /// subscribe, on any thread: keep it quick and free of locks.
    public static func matching(_ predicate: @escaping @Sendable (String) -> Bool, _ policy: HistoryPolicy = HistoryPolicy()) -> HistoryRule {
        HistoryRule(selector: .predicate(predicate), policy: policy)
    }

    @inline(__always)
    func matches(_ topic: String) -> Bool {
        switch selector {
        case .prefix(let prefix): topic.utf8.starts(with: prefix.utf8)
        case .predicate(let predicate): predicate(topic)
        }
    }
}

/// How much history one topic keeps: the latest `maxMessages` messages, at
/// most `maxBytes` of frames (the latest message always stays), none
/// older than `retention`.
public struct HistoryPolicy: Sendable, Hashable {
    /// Default 100.
    public var maxMessages: Int
    /// Default 256 KiB.
    public var maxBytes: Int
    /// Default 5 minutes after each message's publish.
    public var retention: Duration

    public init(maxMessages: Int = 100, maxBytes: Int = 256 << 10, retention: Duration = .seconds(300)) {
        precondition(maxMessages > 0 && maxBytes > 0, "HistoryPolicy: limits must be positive")
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
        self.retention = retention
    }
}

/// A point in a topic's stream: its `epoch` (new whenever the stream
/// starts again, after a restart or once its position expired) and the
/// `offset` of the last message up to that point (0 before the first).
public struct StreamPosition: Sendable, Hashable, Codable {
    public var epoch: String
    public var offset: UInt64

    public init(epoch: String, offset: UInt64) {
        self.epoch = epoch
        self.offset = offset
    }
}

/// Messages of a topic's history, oldest first, and the position they
/// reach: subscribe `since` it to go on with no gap and no duplicate.
public struct HistoryPage: Sendable {
    public var messages: [HistoryMessage]
    /// The offset of the last message here (or the `since` asked for when
    /// there is none). Less than the stream's current offset when `limit`
    /// cut the page short.
    public var position: StreamPosition
}

/// One kept message.
public struct HistoryMessage: Sendable, Hashable {
    public var offset: UInt64
    /// The published `data`, as JSON text.
    public var json: String

    public init(offset: UInt64, json: String) {
        self.offset = offset
        self.json = json
    }
}

/// Why a history read cannot be answered.
public enum HistoryError: Error, Sendable, Hashable {
    /// No rule gives this topic a history.
    case notKept
    /// The position belongs to another epoch of the stream: start over.
    case epoch
    /// Messages after the position aged out.
    case expired
    /// More was published since the position than the history holds.
    case tooFar
    /// The offset is past the stream's last message.
    case ahead
    /// With a history backplane: this node does not follow the topic's
    /// stream right now (it follows topics it has subscribers of), or the
    /// backplane is unreachable.
    case unavailable
}
