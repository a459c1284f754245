public import HTTPTypes
public import SwitchboardIO
import SwitchboardWire

/// An HTTP request as a route handler sees it: the head, the whole body,
/// and the path parameters the route matched.
public struct Request: Sendable {
    /// Method, path (with query), authority and header fields. For a request
    /// that came to Switchboard's own port, built from the parsed head the
    /// first time it is read (routing and the WebSocket handshake do not
    /// need it), then kept.
    public var head: HTTPRequest {
        get { parsedHead.request }
        set { parsedHead.request = newValue }
    }
    /// The head as the parser left it (or `head` as set).
    private(set) var parsedHead: HTTPRequestHead
    /// The body, already complete (bounded by `HTTPConfiguration.limits.maxBodySize`).
    public var body: [UInt8]
    /// Values of the route's `:name` and `*name` segments, percent-decoded.
    public var parameters: Parameters
    /// The peer's address.
    public var remoteAddress: SocketAddress? {
        get {
            switch remote {
            case .accepted(let peer): peer.socketAddress
            case .given(let address): address
            }
        }
        set { remote = .given(newValue) }
    }
    /// Formatted (a `String`) only when read: most upgrades never ask.
    private var remote: Remote
    private enum Remote: Sendable {
        case accepted(PeerAddress)
        case given(SocketAddress?)
    }
    /// What the host that handed this connection over attached
    /// (`Server.handleUpgrade(socket:request:bufferedBytes:hostContext:)`),
    /// e.g. the user its own authentication found, so that `authenticate`
    /// need not read the head again; nil for requests that came to
    /// Switchboard's own port.
    public var hostContext: (any Sendable)? = nil

    init(head: HTTPRequestHead, body: [UInt8], parameters: Parameters, remoteAddress: SocketAddress? = nil) {
        parsedHead = head
        self.body = body
        self.parameters = parameters
        self.remote = .given(remoteAddress)
    }

    /// A request that came to Switchboard's own port from `peer`.
    init(head: HTTPRequestHead, body: [UInt8], parameters: Parameters, peer: PeerAddress) {
        parsedHead = head
        self.body = body
        self.parameters = parameters
        self.remote = .accepted(peer)
    }

    /// A request another HTTP stack parsed (a hand-off).
    init(head: HTTPRequest, body: [UInt8], parameters: Parameters, remoteAddress: SocketAddress? = nil) {
        self.init(
            head: HTTPRequestHead(request: head, version: .http1_1, keepAlive: true, isUpgradeRequest: true),
            body: body, parameters: parameters, remoteAddress: remoteAddress)
    }

    public var method: HTTPRequest.Method { parsedHead.method }
    public var headerFields: HTTPFields { head.headerFields }

    /// The path without the query string.
    public var path: Substring { Self.path(ofTarget: parsedHead.path) }

    /// The path of `head` without its query string (what routes match).
    static func path(of head: HTTPRequest) -> Substring { path(ofTarget: head.path) }

    /// The path of a request target without its query string.
    ///
    /// `?`, `&` and `=` are found in the UTF-8 bytes, not among
    /// `Character`s: a target handed over by another HTTP stack may hold
    /// a character that joins the delimiter after it into one grapheme
    /// cluster (U+0605 before `?`).
    static func path(ofTarget target: String?) -> Substring {
        var full = target ?? "/"
        // Searched in the contiguous bytes: `utf8.firstIndex(of:)` steps
        // through the generic collection, ~200 instructions for "/chat".
        guard let mark = full.withUTF8({ $0.firstIndex(of: UInt8(ascii: "?")) }) else { return full[...] }
        return full[..<full.utf8.index(full.utf8.startIndex, offsetBy: mark)]
    }

    /// The raw query string after `?`, if any.
    public var query: Substring? {
        guard let full = parsedHead.path, let mark = full.utf8.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        return full[full.utf8.index(after: mark)...]
    }

    /// The first value of query parameter `name`, percent-decoded.
    public func queryValue(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in splitAtASCII(query, UInt8(ascii: "&")) where !pair.isEmpty {
            let equals = pair.utf8.firstIndex(of: UInt8(ascii: "="))
            let key = pair[..<(equals ?? pair.endIndex)]
            if percentDecode(key, plusIsSpace: true) == name {
                return equals.map { percentDecode(pair[pair.utf8.index(after: $0)...], plusIsSpace: true) } ?? ""
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

/// `text` cut at every `byte` (an ASCII delimiter), empty pieces kept.
/// The bytes decide, not `Character`s: a character that joins the
/// delimiter after it into one grapheme cluster (U+0605) must not hide it.
func splitAtASCII(_ text: Substring, _ byte: UInt8) -> [Substring] {
    var pieces: [Substring] = []
    var start = text.startIndex
    var index = text.startIndex
    while index < text.endIndex {
        if text.utf8[index] == byte {
            pieces.append(text[start..<index])
            start = text.utf8.index(after: index)
        }
        index = text.utf8.index(after: index)
    }
    pieces.append(text[start...])
    return pieces
}
