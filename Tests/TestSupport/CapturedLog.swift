import Foundation
public import Logging

/// A swift-log backend that keeps every line (level, message and metadata
/// as text) for a test to read; give `logger` to the component under test.
public final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var captured: [String] = []

    public init() {}

    /// A logger at `.trace` that writes here.
    public var logger: Logger {
        var logger = Logger(label: "captured") { _ in Handler(log: self) }
        logger.logLevel = .trace
        return logger
    }

    public var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return captured
    }

    fileprivate func append(_ line: String) {
        lock.lock()
        captured.append(line)
        lock.unlock()
    }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let fields = metadata.merging(event.metadata ?? [:]) { $1 }
                .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            log.append("\(event.level) \(event.message) \(fields)")
        }
    }
}
