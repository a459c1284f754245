import HTTPTypes

/// Turns the lines the ``HTTPHeadScanner`` reports into an ``HTTPRequestHead`` and the body
/// framing, checking the head-level rules no single line can: Host (RFC 9112 §3.2),
/// framing (RFC 9112 §6.3) and connection options (RFC 9112 §9).
struct HTTPHeadCollector: Sendable {
    /// The head being built: what holds references (the target's strings,
    /// Host, the field spans) lives in it from the request line on, so the
    /// parser keeping this value in an optional and `finish` handing the
    /// head over copy one reference, not each of them.
    private let parsed: ParsedRequestHead
    private let version: HTTPVersion
    private var framing = HTTPFramingFields()
    private var hostCount = 0
    private var connectionClose = false
    private var connectionKeepAlive = false
    private var connectionUpgrade = false
    private var hasUpgradeField = false

    /// Starts a head from its request line; the target form must suit the method.
    init(requestLine: HTTPRequestLineRange, in region: UnsafeRawBufferPointer) throws(HTTPRefusal) {
        let methodBytes = UnsafeRawBufferPointer(rebasing: region[requestLine.method])
        // The scanner checked `method = token` (RFC 9110 §9.1), so this cannot fail.
        guard let method = Self.method(methodBytes) else { throw .badRequest("invalid method") }
        let kind: HTTPRequestTarget.MethodKind =
            switch method {
            case .connect: .connect
            case .options: .options
            default: .other
            }
        let target = try HTTPRequestTarget.parse(UnsafeRawBufferPointer(rebasing: region[requestLine.target]), method: kind)
        self.parsed = ParsedRequestHead(method: method, target: target)
        self.version = requestLine.version
    }

    /// Adds one field line, remembering what the head-level checks need.
    mutating func add(_ line: HTTPFieldLineRange, in region: UnsafeRawBufferPointer) throws(HTTPRefusal) {
        let name = UnsafeRawBufferPointer(rebasing: region[line.name])
        let value = UnsafeRawBufferPointer(rebasing: region[line.value])
        switch name.count {
        case 4 where HTTPSyntax.equalsCaseInsensitive(name, "host"):
            hostCount += 1
            // RFC 9112 §3.2: more than one Host, or an invalid one, answers 400.
            guard hostCount == 1 else { throw .badRequest("duplicate Host") }
            if !value.isEmpty {
                guard HTTPAuthority.isValid(value, requirePort: false) else { throw .badRequest("invalid Host") }
                parsed.setHost(HTTPSyntax.string(value))
            }
            // HTTPTypes carries Host as `authority` only (`HTTPField.Name.host` is unavailable).
            return
        case 7 where HTTPSyntax.equalsCaseInsensitive(name, "upgrade"):
            hasUpgradeField = true
        case 10 where HTTPSyntax.equalsCaseInsensitive(name, "connection"):
            HTTPSyntax.forEachListElement(value) { option in
                if HTTPSyntax.equalsCaseInsensitive(option, "close") {
                    connectionClose = true
                } else if HTTPSyntax.equalsCaseInsensitive(option, "keep-alive") {
                    connectionKeepAlive = true
                } else if HTTPSyntax.equalsCaseInsensitive(option, "upgrade") {
                    connectionUpgrade = true
                }
            }
        case 14 where HTTPSyntax.equalsCaseInsensitive(name, "content-length"):
            try framing.addContentLength(value)
        case 17 where HTTPSyntax.equalsCaseInsensitive(name, "transfer-encoding"):
            try framing.addTransferEncoding(value)
        default:
            break
        }
        parsed.appendField(ParsedRequestHead.FieldSpan(
            nameStart: line.name.lowerBound, nameEnd: line.name.upperBound,
            valueStart: line.value.lowerBound, valueEnd: line.value.upperBound))
    }

    /// Completes the head: Host presence, framing and keep-alive. The
    /// head keeps `buffer`, which holds it from `start` on (where the
    /// lines' ranges count from).
    consuming func finish(limits: HTTPParserLimits, buffer: [UInt8], from start: Int) throws(HTTPRefusal) -> (HTTPRequestHead, HTTPBodyFraming) {
        // RFC 9112 §3.2: an HTTP/1.1 request without Host answers 400.
        if version == .http1_1 && hostCount == 0 { throw .badRequest("missing Host") }
        let bodyFraming = try framing.decide(version: version, limits: limits)
        parsed.keepBytes(buffer, from: start)
        let keepAlive = version == .http1_1 ? !connectionClose : connectionKeepAlive && !connectionClose
        // RFC 9110 §7.8: Upgrade in an HTTP/1.0 request must be ignored.
        let upgrade = version == .http1_1 && connectionUpgrade && hasUpgradeField
        let head = HTTPRequestHead(parsed: parsed, version: version, keepAlive: keepAlive, isUpgradeRequest: upgrade)
        return (head, bodyFraming)
    }

    /// ``finish(limits:buffer:from:)`` for a head whose bytes are `section`
    /// (from its first byte to the end of its empty line), which it copies.
    consuming func finish(limits: HTTPParserLimits, section: UnsafeRawBufferPointer) throws(HTTPRefusal) -> (HTTPRequestHead, HTTPBodyFraming) {
        try finish(limits: limits, buffer: Array(HTTPSyntax.bytes(section)), from: 0)
    }

    /// The method, without revalidating or copying for the common ones.
    private static func method(_ bytes: UnsafeRawBufferPointer) -> HTTPRequest.Method? {
        switch bytes.count {
        case 3 where HTTPSyntax.equalsCaseSensitive(bytes, "GET"): return .get
        case 3 where HTTPSyntax.equalsCaseSensitive(bytes, "PUT"): return .put
        case 4 where HTTPSyntax.equalsCaseSensitive(bytes, "POST"): return .post
        case 4 where HTTPSyntax.equalsCaseSensitive(bytes, "HEAD"): return .head
        case 5 where HTTPSyntax.equalsCaseSensitive(bytes, "PATCH"): return .patch
        case 6 where HTTPSyntax.equalsCaseSensitive(bytes, "DELETE"): return .delete
        case 7 where HTTPSyntax.equalsCaseSensitive(bytes, "OPTIONS"): return .options
        case 7 where HTTPSyntax.equalsCaseSensitive(bytes, "CONNECT"): return .connect
        default: return HTTPRequest.Method(HTTPSyntax.string(bytes))
        }
    }
}
