/// One fuzz target: a name for `FUZZ_TARGET` and the corpus folder, and a
/// check that runs one input and throws when a property does not hold.
///
/// A check must be deterministic (a crash has to reproduce from its file
/// alone) and keep no state between inputs.
public struct FuzzTarget: Sendable {
    public let name: String
    public let summary: String
    private let check: @Sendable ([UInt8]) throws(PropertyViolation) -> Void

    init(name: String, summary: String, check: @escaping @Sendable ([UInt8]) throws(PropertyViolation) -> Void) {
        self.name = name
        self.summary = summary
        self.check = check
    }

    /// Runs one input through the target.
    public func run(_ input: [UInt8]) throws(PropertyViolation) {
        try check(input)
    }

    /// Every target, in the order the scripts run them.
    public static let all: [FuzzTarget] = [
        HTTPParserTarget.target,
        WebSocketSessionTarget.target,
        DeflateNegotiationTarget.target,
        ClientRequestTarget.target,
        RedisURLTarget.target,
        ConnectionIOTarget.target,
        UpgradeBoundaryTarget.target,
        TopicStreamTarget.target,
        RedisRepliesTarget.target,
    ]

    public static func named(_ name: String) -> FuzzTarget? {
        all.first { $0.name == name }
    }
}
