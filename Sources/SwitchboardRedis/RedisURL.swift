import SwitchboardWire

/// Where a Redis server is and how to log in, read from a URL:
/// `redis://[[username]:password@]host[:port][/database]`.
///
/// `redis://127.0.0.1`, `redis://:secret@cache.internal:6380/2`,
/// `redis://app:secret@[::1]:6379`. The port defaults to 6379 and the
/// database to 0. Percent-escapes are decoded in the username and password.
///
/// Not supported, and refused with a clear error rather than ignored:
/// TLS (`rediss://`), Unix sockets, and query parameters.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// For Redis 6 ACL users (`AUTH username password`); `nil` sends `AUTH password`.
    public var username: String?
    /// `nil`: no AUTH.
    public var password: String?
    /// Sent as `SELECT` when not 0. Redis pub/sub channels are shared by
    /// every database of a server, so the database does not separate two
    /// applications' channels: give them different channel prefixes.
    public var database: Int

    public static let defaultPort = 6379

    public init(host: String = "127.0.0.1", port: Int = defaultPort, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// The delimiters are found in the UTF-8 bytes, never among
    /// `Character`s: a character such as U+0605 joins the `:` after it into
    /// one grapheme cluster, and a host of "\u{605}" would swallow its port.
    public init(parsing text: String) throws(RedisURLError) {
        let bytes = Array(text.utf8)
        func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        func first(_ byte: Character, in range: Range<Int>) -> Int? { bytes[range].firstIndex(of: byte.asciiValue!) }

        guard let schemeEnd = (0..<max(0, bytes.count - 2)).first(where: { bytes[$0..<($0 + 3)].elementsEqual("://".utf8) }) else {
            throw RedisURLError("expected redis://host[:port][/database]")
        }
        let scheme = string(0..<schemeEnd).lowercased()
        switch scheme {
        case "redis": break
        case "rediss": throw RedisURLError("TLS (rediss://) is not supported; reach Redis over a private network or a TLS tunnel such as stunnel")
        default:
            // Before "://" a malformed URL may hold anything, credentials
            // included: name it only if it is a scheme at all.
            guard Self.isScheme(scheme) else { throw RedisURLError("unsupported scheme; expected redis://") }
            throw RedisURLError("unsupported scheme \"\(scheme)\"; expected redis://")
        }
        var rest = (schemeEnd + 3)..<bytes.count
        guard first("?", in: rest) == nil, first("#", in: rest) == nil else {
            throw RedisURLError("query parameters and fragments are not supported")
        }
        var path = rest.upperBound..<rest.upperBound
        if let slash = first("/", in: rest) {
            path = (slash + 1)..<rest.upperBound
            rest = rest.lowerBound..<slash
        }

        self.init()
        if let at = bytes[rest].lastIndex(of: UInt8(ascii: "@")) {
            let userInfo = rest.lowerBound..<at
            rest = (at + 1)..<rest.upperBound
            guard let colon = first(":", in: userInfo) else {
                throw RedisURLError("credentials must be user:password@ or :password@")
            }
            let user = try Self.percentDecoded(Substring(string(userInfo.lowerBound..<colon)))
            username = user.isEmpty ? nil : user
            password = try Self.percentDecoded(Substring(string((colon + 1)..<userInfo.upperBound)))
        }

        var portText: Substring?
        if bytes[rest].first == UInt8(ascii: "[") {
            // An IPv6 literal: [::1] or [::1]:6380.
            guard let close = first("]", in: rest) else { throw RedisURLError("unclosed [ in the host") }
            host = string((rest.lowerBound + 1)..<close)
            guard Self.isIPv6Literal(host) else { throw RedisURLError("the host in [ ] must be an IPv6 address") }
            let after = (close + 1)..<rest.upperBound
            if !after.isEmpty {
                guard bytes[after.lowerBound] == UInt8(ascii: ":") else { throw RedisURLError("unexpected text after the host") }
                portText = Substring(string((after.lowerBound + 1)..<after.upperBound))
            }
        } else if let colon = first(":", in: rest) {
            host = string(rest.lowerBound..<colon)
            portText = Substring(string((colon + 1)..<rest.upperBound))
        } else {
            host = string(rest)
        }
        guard !host.isEmpty else { throw RedisURLError("the host is missing") }
        if let portText {
            guard let number = Self.decimal(portText), (1...65535).contains(number) else {
                throw RedisURLError("the port must be a number from 1 to 65535")
            }
            port = number
        }
        if !path.isEmpty {
            guard let number = Self.decimal(Substring(string(path))) else {
                throw RedisURLError("the database must be a number, as in redis://host/0")
            }
            database = number
        }
    }

    /// The URL with the password hidden, for logs.
    public var description: String {
        var credentials = ""
        if password != nil { credentials = "\(username ?? ""):***@" }
        let shownHost = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
        return "redis://\(credentials)\(shownHost):\(port)/\(database)"
    }

    /// Hex digits, `:` and `.` (an IPv4 tail), with at least one `:`; then
    /// optionally `%` and a zone such as `eth0`, passed on as written.
    private static func isIPv6Literal(_ text: String) -> Bool {
        let parts = text.utf8.split(separator: UInt8(ascii: "%"), maxSplits: 1, omittingEmptySubsequences: false)
        let address = parts[0]
        guard address.contains(UInt8(ascii: ":")),
            address.allSatisfy({ isASCIIHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
        else { return false }
        guard parts.count == 2 else { return true }
        return !parts[1].isEmpty
            && parts[1].allSatisfy { isASCIILetter($0) || isASCIIDigit($0) || "-._~%".utf8.contains($0) }
    }

    /// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1), which
    /// has no room for `:` or `@`.
    private static func isScheme(_ text: String) -> Bool {
        guard let first = text.utf8.first, isASCIILetter(first) else { return false }
        return text.utf8.allSatisfy { isASCIILetter($0) || isASCIIDigit($0) || "+-.".utf8.contains($0) }
    }

    private static func isASCIILetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
    }

    private static func isASCIIDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isASCIIHexDigit(_ byte: UInt8) -> Bool {
        isASCIIDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
    }

    /// Digits only (no sign, no spaces), at most 9 of them.
    private static func decimal(_ text: Substring) -> Int? {
        guard (1...9).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    private static func percentDecoded(_ text: Substring) throws(RedisURLError) -> String {
        guard let bytes = PercentDecoding.bytes(text) else {
            throw RedisURLError("a % in the credentials must be followed by two hex digits")
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A Redis URL that cannot be used; the message never repeats the URL,
/// which may hold a password.
public struct RedisURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { "invalid Redis URL: \(reason)" }
}
