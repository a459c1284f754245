internal import CLibUV

/// An error from the I/O core: a libuv (negative errno) code with its name.
///
/// libuv reports failures as negative `errno` values; this keeps the code so
/// callers can match on it, and renders the symbolic name for logs.
public struct IOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The libuv error code (a negative errno value, e.g. `-98` for `EADDRINUSE`).
    public let code: Int32
    /// What the core was doing when it failed, e.g. `"bind"`.
    public let operation: String

    package init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// The symbolic name, e.g. `EADDRINUSE`.
    public var name: String { String(cString: uv_err_name(code)) }

    public var description: String {
        "\(operation): \(name) (\(String(cString: uv_strerror(code))))"
    }
}

/// Throws an `IOError` when a libuv call returned a negative code.
@discardableResult
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(IOError) -> Int32 {
    if result < 0 { throw IOError(code: result, operation: operation()) }
    return result
}
