import Logging
import SwitchboardIO

extension LoopContext {
    /// Logs a line about `connection`, with its id, the peer's address and
    /// the route's pattern (never the path a client sent, nor its query,
    /// where tokens travel), at most `LoopContext.logLinesPerSecond` a
    /// second on this loop. On the loop.
    func log(
        _ level: Logger.Level, _ message: @autoclosure () -> Logger.Message, connection: TCPConnection,
        route: String? = nil, _ metadata: @autoclosure () -> Logger.Metadata = [:]
    ) {
        guard logger.logLevel <= level else { return }
        let (allowed, leftOut) = logLimit.admit(now: loop.now)
        guard allowed else { return }
        var fields = metadata()
        fields["connection"] = "\(Self.id(of: connection))"
        fields["peer"] = "\(connection.remoteAddress.map(\.description) ?? "-")"
        if let route { fields["route"] = "\(route)" }
        if leftOut > 0 { fields["lines_left_out"] = "\(leftOut)" }
        logger.log(level: level, message(), metadata: fields)
    }

    /// Log lines a peer can cause, at most, per second and loop.
    static let logLinesPerSecond = 20

    /// A connection's id in log lines: its object's address, unique while
    /// it lives, and free (no field per connection).
    static func id(of connection: TCPConnection) -> String {
        String(UInt(bitPattern: ObjectIdentifier(connection).hashValue), radix: 16)
    }
}
