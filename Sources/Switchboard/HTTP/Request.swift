public import HTTPTypes
public import SwitchboardIO
import SwitchboardWire

/// An HTTP request as a route handler sees it: the head, the whole body,
/// and the path parameters the route matched.
public struct Request: Sendable {
    /// Method, path (with query), authority and header fields.
    public var head: HTTPRequest
    /// The body, already complete (bounded by `HTTPConfiguration.limits.maxBodySize`).
    public var body: [UInt8]
    /// Values of the route's `:name` and `*name` segments, percent-decoded.
    public var parameters: Parameters
    /// The peer's address.
    public var remoteAddress: SocketAddress?
    /// What the host that handed this connection over attached
    /// (`Server.handleUpgrade(socket:request:bufferedBytes:hostContext:)`),
    /// e.g. the user its own authentication found, so that `authenticate`
    /// need not read the head again; nil for requests that came to
    /// Switchboard's own port.
    public var hostContext: (any Sendable)? = nil

    public var method: HTTPRequest.Method { head.method }
    public var headerFields: HTTPFields { head.headerFields }

    /// The path without the query string.
    public var path: Substring { Self.path(of: head) }

    /// The path of `head` without its query string (what routes match).
    static func path(of head: HTTPRequest) -> Substring {
        let full = head.path ?? "/"
        return full[..<(full.firstIndex(of: "?") ?? full.endIndex)]
    }

    /// The raw query string after `?`, if any.
    public var query: Substring? {
        guard let full = head.path, let mark = full.firstIndex(of: "?") else { return nil }
        return full[full.index(after: mark)...]
    }

    /// The first value of query parameter `name`, percent-decoded.
    public func queryValue(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if percentDecode(parts[0], plusIsSpace: true) == name {
                return parts.count > 1 ? percentDecode(parts[1], plusIsSpace: true) : ""
            }
        }
        return nil
    }

    /// The body as UTF-8 text (invalid bytes replaced).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Path parameters by name.
public struct Parameters: Sendable, Hashable {
    private var values: [(name: String, value: String)] = []

    public init() {}

    public subscript(_ name: String) -> String? {
        values.first { $0.name == name }?.value
    }

    mutating func append(_ name: String, _ value: String) {
        values.append((name, value))
    }

    mutating func removeLast() { values.removeLast() }

    public static func == (lhs: Parameters, rhs: Parameters) -> Bool {
        lhs.values.elementsEqual(rhs.values) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for (name, value) in values {
            hasher.combine(name)
            hasher.combine(value)
        }
    }
}

/// Decodes `%XX` escapes; returns `nil` for a malformed escape or bytes
/// that are not UTF-8.
func percentDecode(_ text: Substring, plusIsSpace: Bool = false) -> String? {
    guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else {
        return String(text)
    }
    return PercentDecoding.bytes(text, plusIsSpace: plusIsSpace).flatMap { String(validating: $0, as: UTF8.self) }
}
