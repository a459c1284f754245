/// A property a fuzz target checks did not hold for an input.
///
/// Thrown rather than trapped, so a replay names the input and the property;
/// under libFuzzer the entry point turns it into a crash.
public struct PropertyViolation: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Throws a ``PropertyViolation`` with `message` unless `condition` holds.
func require(
    _ condition: Bool,
    _ message: @autoclosure () -> String
) throws(PropertyViolation) {
    if !condition { throw PropertyViolation(message()) }
}
