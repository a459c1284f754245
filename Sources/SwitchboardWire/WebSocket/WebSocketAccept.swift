public import HTTPTypes

/// What a WebSocket route accepts: its subprotocols in order of preference,
/// permessage-deflate or not, and which origins may connect.
public struct WebSocketAcceptPolicy: Sendable {
    public var subprotocols: [String]
    /// nil: compression is off, offers are ignored.
    public var deflate: PerMessageDeflatePolicy?
    /// Decides the `Origin` (nil when absent) of a request.
    public var allowsOrigin: @Sendable (_ origin: String?, _ request: HTTPRequest) -> Bool {
        get {
            switch originCheck {
            case .request(let allows): allows
            case .authority(let allows): { origin, request in allows(origin, request.authority) }
            }
        }
        set { originCheck = .request(newValue) }
    }

    /// What the origin check reads: the whole request, or only its
    /// authority (Host), which a parsed head has without building the
    /// request's fields.
    private enum OriginCheck: Sendable {
        case request(@Sendable (_ origin: String?, _ request: HTTPRequest) -> Bool)
        case authority(@Sendable (_ origin: String?, _ authority: String?) -> Bool)
    }
    private var originCheck: OriginCheck

    public init(
        subprotocols: [String] = [], deflate: PerMessageDeflatePolicy? = nil,
        allowsOrigin: @escaping @Sendable (_ origin: String?, _ request: HTTPRequest) -> Bool
    ) {
        self.subprotocols = subprotocols
        self.deflate = deflate
        self.originCheck = .request(allowsOrigin)
    }

    /// A policy whose origin check needs only the request's authority
    /// (its `Host`; nil when absent).
    public init(
        subprotocols: [String] = [], deflate: PerMessageDeflatePolicy? = nil,
        allowsOriginWithAuthority: @escaping @Sendable (_ origin: String?, _ authority: String?) -> Bool
    ) {
        self.subprotocols = subprotocols
        self.deflate = deflate
        self.originCheck = .authority(allowsOriginWithAuthority)
    }

    func allows(origin: String?, of head: HTTPRequestHead) -> Bool {
        switch originCheck {
        case .request(let allows): allows(origin, head.request)
        case .authority(let allows): allows(origin, head.authority)
        }
    }
}

/// An upgrade request the route accepts: the 101 to send and what was
/// agreed on.
public struct WebSocketAccept: Sendable {
    /// The client's `Sec-WebSocket-Key`.
    public var key: String {
        get { keyText.string }
        set { keyText = WebSocketKeyText(newValue) }
    }
    var keyText: WebSocketKeyText
    public var subprotocol: String?
    public var deflate: PerMessageDeflateAgreement?

    init(key: String, subprotocol: String?, deflate: PerMessageDeflateAgreement?) {
        self.init(keyText: WebSocketKeyText(key), subprotocol: subprotocol, deflate: deflate)
    }

    init(keyText: WebSocketKeyText, subprotocol: String?, deflate: PerMessageDeflateAgreement?) {
        self.keyText = keyText
        self.subprotocol = subprotocol
        self.deflate = deflate
    }

    /// 101 Switching Protocols with `Sec-WebSocket-Accept` and the
    /// agreed subprotocol and extension (for a host that writes it).
    public var response: HTTPResponse {
        HTTPResponse(
            status: .switchingProtocols,
            headerFields: WebSocketHandshake.responseFields(
                forKey: key, subprotocol: subprotocol, extensions: deflate?.responseValue))
    }

    /// Appends the bytes of ``response`` to `buffer`, as
    /// `serializeResponseHead(response, into:)` would, without building the
    /// fields first.
    public func appendResponseHead(to buffer: inout [UInt8]) {
        let start = buffer.count
        let count = responseHeadByteCount
        buffer.append(contentsOf: repeatElement(0, count: count))
        buffer.withUnsafeMutableBytes { bytes in
            writeResponseHead(to: UnsafeMutableRawBufferPointer(rebasing: bytes[start..<(start + count)]))
        }
    }

    /// The size of ``response``'s head: what ``writeResponseHead(to:)`` writes.
    public var responseHeadByteCount: Int {
        var count = Self.statusAndFixedFields.utf8CodeUnitCount + WebSocketHandshake.acceptValueLength
        if let subprotocol {
            count += Self.protocolField.utf8CodeUnitCount + subprotocol.utf8.count
        }
        if let extensions = deflate?.responseValue {
            count += Self.extensionsField.utf8CodeUnitCount + extensions.utf8.count
        }
        return count + Self.endOfHead.utf8CodeUnitCount
    }

    /// Writes ``response``'s head to the start of `output`, which must hold
    /// ``responseHeadByteCount`` bytes: the path every upgrade takes, with
    /// no allocation (the loop's cork buffer, usually).
    public func writeResponseHead(to output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= responseHeadByteCount)
        var offset = Self.write(Self.statusAndFixedFields, to: output, at: 0)
        offset += WebSocketHandshake.writeAcceptValue(forKey: keyText, into: UnsafeMutableRawBufferPointer(rebasing: output[offset...]))
        if let subprotocol {
            offset = Self.write(Self.protocolField, to: output, at: offset)
            offset = Self.write(subprotocol, to: output, at: offset)
        }
        if let extensions = deflate?.responseValue {
            offset = Self.write(Self.extensionsField, to: output, at: offset)
            offset = Self.write(extensions, to: output, at: offset)
        }
        _ = Self.write(Self.endOfHead, to: output, at: offset)
    }

    private static let statusAndFixedFields: StaticString =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
    private static let protocolField: StaticString = "\r\nSec-WebSocket-Protocol: "
    private static let extensionsField: StaticString = "\r\nSec-WebSocket-Extensions: "
    private static let endOfHead: StaticString = "\r\n\r\n"

    private static func write(_ text: StaticString, to output: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        text.withUTF8Buffer { UnsafeMutableRawBufferPointer(rebasing: output[offset...]).copyMemory(from: UnsafeRawBufferPointer($0)) }
        return offset + text.utf8CodeUnitCount
    }

    private static func write(_ text: String, to output: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var text = text
        return text.withUTF8 { bytes in
            UnsafeMutableRawBufferPointer(rebasing: output[offset...]).copyMemory(from: UnsafeRawBufferPointer(bytes))
            return offset + bytes.count
        }
    }
}

extension WebSocketHandshake {
    /// The server's whole answer to an upgrade request, as a value (the
    /// shape of python-websockets' `accept`/`reject`): validates it (RFC 6455
    /// §4.2.1, see `validate`), checks its origin (403), picks the first of
    /// the route's subprotocols the client offers (none when nothing
    /// matches: RFC 6455 §4.1 leaves the client to decide) and the first
    /// acceptable permessage-deflate offer (RFC 7692 §5), and builds the 101.
    ///
    /// What the application decides afterwards (authentication) refuses
    /// with its own response.
    public static func accept(_ request: HTTPRequest, isHTTP11: Bool, policy: WebSocketAcceptPolicy) -> Result<WebSocketAccept, HTTPRefusal> {
        accept(HTTPRequestHead(request: request, version: isHTTP11 ? .http1_1 : .http1_0, keepAlive: true, isUpgradeRequest: true), policy: policy)
    }

    /// ``accept(_:isHTTP11:policy:)`` for a head the parser produced: its
    /// fields are read where they lie, and `HTTPRequest` is only built if
    /// the policy's origin check asks for it.
    public static func accept(_ head: HTTPRequestHead, policy: WebSocketAcceptPolicy) -> Result<WebSocketAccept, HTTPRefusal> {
        let offer: WebSocketHandshakeRequest
        do {
            offer = try validate(head)
        } catch {
            return .failure(error)
        }
        guard policy.allows(origin: offer.origin, of: head) else {
            return .failure(HTTPRefusal(status: .forbidden, reason: "origin not allowed"))
        }
        let subprotocol = policy.subprotocols.first { offer.subprotocols.contains($0) }
        let agreement = policy.deflate.flatMap { PerMessageDeflateNegotiation.negotiate(offer.extensions, policy: $0) }
        return .success(WebSocketAccept(keyText: offer.keyText, subprotocol: subprotocol, deflate: agreement))
    }
}
