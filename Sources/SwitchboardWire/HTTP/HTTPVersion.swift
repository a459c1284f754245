/// An HTTP version as sent in a request line (RFC 9112 §2.3).
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.1 (RFC 9112).
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    /// HTTP/1.0 (RFC 1945): close by default, no Transfer-Encoding, Host optional.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)

    public var description: String { "HTTP/\(major).\(minor)" }
}
