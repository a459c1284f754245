public import HTTPTypes

/// What a valid WebSocket upgrade request offered (RFC 6455 §4.2.1), for the application to
/// choose a subprotocol and extensions from.
public struct WebSocketHandshakeRequest: Sendable {
    /// `Sec-WebSocket-Key` as sent: Base64 of 16 bytes (RFC 6455 §4.1).
    public var key: String {
        get { keyText.string }
        set { keyText = WebSocketKeyText(newValue) }
    }
    var keyText: WebSocketKeyText
    /// `Sec-WebSocket-Protocol` tokens in the order offered, over all such fields (RFC 6455 §4.1).
    public var subprotocols: [String]
    /// `Sec-WebSocket-Extensions` offers in the order sent, over all such fields (RFC 6455 §9.1).
    public var extensions: [WebSocketExtensionOffer]
    /// `Origin` (RFC 6454), which browsers always send; nil when absent. Several Origin fields
    /// are joined with ", ", which matches no real origin, so an allow-list check fails closed.
    public var origin: String?

    public init(
        key: String, subprotocols: [String] = [], extensions: [WebSocketExtensionOffer] = [], origin: String? = nil
    ) {
        self.init(keyText: WebSocketKeyText(key), subprotocols: subprotocols, extensions: extensions, origin: origin)
    }

    init(keyText: WebSocketKeyText, subprotocols: [String], extensions: [WebSocketExtensionOffer], origin: String?) {
        self.keyText = keyText
        self.subprotocols = subprotocols
        self.extensions = extensions
        self.origin = origin
    }
}

/// The server's opening handshake (RFC 6455 §4.2): validating the client's upgrade request and
/// building the 101 response fields. Pure functions; the HTTP layer sends the response.
public enum WebSocketHandshake {
    /// The only protocol version (RFC 6455 §4.1, §11.6).
    public static let version = "13"

    /// The GUID appended to the key before hashing (RFC 6455 §1.3, §4.2.2).
    static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The decoded size of `Sec-WebSocket-Key`: a random 16-byte nonce (RFC 6455 §4.1).
    static let keyNonceSize = 16

    /// Checks an upgrade request against RFC 6455 §4.2.1 and returns what it offers.
    ///
    /// Checked in this order, each refusal with its status:
    /// 1. Method GET. Otherwise 400: RFC 6455 §4.2.1 asks for "an appropriate error code (such
    ///    as 400 Bad Request)" for any request that is not a valid handshake, and a 405 would
    ///    need an `Allow` field describing the route, which only the router knows.
    /// 2. HTTP/1.1 (`isHTTP11`; the parser knows the version), else 400.
    /// 3. `Upgrade` lists the token `websocket`, ignoring case, else 400.
    /// 4. `Connection` lists the option `upgrade`, ignoring case, else 400.
    /// 5. Exactly one `Sec-WebSocket-Version` of `13`, else 426 with
    ///    `Sec-WebSocket-Version: 13` (RFC 6455 §4.2.2, §4.4).
    /// 6. Exactly one `Sec-WebSocket-Key` that is strict Base64 of 16 bytes, else 400.
    /// 7. `Sec-WebSocket-Protocol` elements are tokens (RFC 6455 §4.1), else 400.
    /// 8. `Sec-WebSocket-Extensions` follows RFC 6455 §9.1, else 400.
    ///
    /// Not checked here: Host (the HTTP parser requires it, RFC 9112 §3.2), Origin (policy:
    /// the application compares ``WebSocketHandshakeRequest/origin``, and answers 403), and
    /// which subprotocol or extension to accept.
    public static func validate(_ request: HTTPRequest, isHTTP11: Bool) throws(HTTPRefusal)
        -> WebSocketHandshakeRequest
    {
        try validate(HTTPRequestHead(request: request, version: isHTTP11 ? .http1_1 : .http1_0, keepAlive: true, isUpgradeRequest: true))
    }

    /// ``validate(_:isHTTP11:)`` for a head the parser produced (its version
    /// decides item 2): the fields are read where they lie, without building
    /// `HTTPRequest`.
    public static func validate(_ head: HTTPRequestHead) throws(HTTPRefusal) -> WebSocketHandshakeRequest {
        guard head.method == .get else { throw .badRequest("WebSocket upgrade requires GET") }
        guard head.version == .http1_1 else { throw .badRequest("WebSocket upgrade requires HTTP/1.1") }
        // One pass over the fields (a lookup by name walks them all each time).
        let offer = UpgradeFields(head)
        // RFC 6455 §4.2.1 item 3: "An |Upgrade| header field containing the value
        // "websocket", treated as an ASCII case-insensitive value."
        guard offer.upgradesToWebSocket else { throw .badRequest("missing Upgrade: websocket") }
        // Item 4: "A |Connection| header field that includes the token "Upgrade", treated as
        // an ASCII case-insensitive value."
        guard offer.connectionUpgrades else { throw .badRequest("missing Connection: upgrade") }
        // Item 6 and §4.4: a version other than 13 gets 426 listing the supported one.
        guard offer.versionCount == 1, offer.versionIs13 else { throw unsupportedVersion }
        // Item 5: the key is "a base64-encoded value that, when decoded, is 16 bytes in length";
        // §11.3.1: it MUST NOT appear more than once.
        guard let key = offer.key else { throw .badRequest("missing Sec-WebSocket-Key") }
        guard offer.keyCount == 1 else { throw .badRequest("duplicate Sec-WebSocket-Key") }
        guard key.withBytes({ Base64.decodedCount($0) }) == keyNonceSize else {
            throw .badRequest("invalid Sec-WebSocket-Key")
        }
        guard offer.subprotocolsAreTokens else { throw .badRequest("invalid Sec-WebSocket-Protocol") }
        guard offer.extensionsAreValid else { throw .badRequest("invalid Sec-WebSocket-Extensions") }
        return WebSocketHandshakeRequest(
            keyText: key,
            subprotocols: offer.subprotocols,
            extensions: offer.extensions,
            origin: offer.origin
        )
    }

    /// The `Sec-WebSocket-Accept` value for a key (RFC 6455 §4.2.2 item 5.4):
    /// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
    public static func acceptValue(forKey key: String) -> String {
        String(unsafeUninitializedCapacity: acceptValueLength) { output in
            writeAcceptValue(forKey: key, into: UnsafeMutableRawBufferPointer(output))
        }
    }

    /// The length of a `Sec-WebSocket-Accept` value: Base64 of a 20-byte digest.
    static let acceptValueLength = 28

    /// Writes the accept value for `key` (``acceptValue(forKey:)``) to the start of `output`
    /// without a heap allocation; returns its length, ``acceptValueLength``.
    @discardableResult
    static func writeAcceptValue(forKey key: String, into output: UnsafeMutableRawBufferPointer) -> Int {
        writeAcceptValue(forKey: WebSocketKeyText(key), into: output)
    }

    static func writeAcceptValue(forKey key: WebSocketKeyText, into output: UnsafeMutableRawBufferPointer) -> Int {
        key.withBytes { key in
            let length = key.count + acceptGUIDBytes.count
            return withUnsafeTemporaryAllocation(byteCount: length + SHA1.digestSize, alignment: 8) { scratch in
                let message = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<length])
                message.copyMemory(from: key)
                UnsafeMutableRawBufferPointer(rebasing: message[key.count...]).copyBytes(from: acceptGUIDBytes)
                let digest = UnsafeMutableRawBufferPointer(rebasing: scratch[length...])
                SHA1.hash(UnsafeRawBufferPointer(message), into: digest)
                return Base64.encode(UnsafeRawBufferPointer(digest), into: output)
            }
        }
    }

    private static let acceptGUIDBytes = Array(acceptGUID.utf8)

    /// The fields of the 101 Switching Protocols response (RFC 6455 §4.2.2 item 5), in order:
    /// `Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Accept`, then
    /// `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` when given.
    ///
    /// `subprotocol` must be one the client offered (§4.2.2 item 5.5) and `extensions` a
    /// serialised list the server accepts from the offers (§9.1); neither is checked here.
    public static func responseFields(forKey key: String, subprotocol: String?, extensions: String?) -> HTTPFields {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .upgrade, value: "websocket"))
        fields.append(HTTPField(name: .connection, value: "Upgrade"))
        fields.append(HTTPField(name: .secWebSocketAccept, value: acceptValue(forKey: key)))
        if let subprotocol {
            fields.append(HTTPField(name: .secWebSocketProtocol, value: subprotocol))
        }
        if let extensions {
            fields.append(HTTPField(name: .secWebSocketExtensions, value: extensions))
        }
        return fields
    }

    // MARK: Helpers

    /// 426 Upgrade Required (RFC 6455 §4.4, RFC 9110 §15.5.22).
    private static var unsupportedVersion: HTTPRefusal {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .upgrade, value: "websocket"))
        fields.append(HTTPField(name: .connection, value: "Upgrade"))
        fields.append(HTTPField(name: .secWebSocketVersion, value: version))
        return HTTPRefusal(
            status: .upgradeRequired,
            reason: "unsupported Sec-WebSocket-Version",
            headerFields: fields
        )
    }
}

/// What the upgrade checks need from a request's fields, read in one pass.
private struct UpgradeFields {
    let upgradesToWebSocket: Bool
    let connectionUpgrades: Bool
    let versionCount: Int
    /// Whether the last `Sec-WebSocket-Version` is `13`.
    let versionIs13: Bool
    let keyCount: Int
    let key: WebSocketKeyText?
    let subprotocols: [String]
    let subprotocolsAreTokens: Bool
    let extensions: [WebSocketExtensionOffer]
    let extensionsAreValid: Bool
    let origin: String?

    init(_ head: HTTPRequestHead) {
        // Collected in locals, the struct built once at the end: a closure
        // that mutates `self` in an initializer copied the whole struct
        // (a retain of each string and array in it) around the pass.
        var upgradesToWebSocket = false
        var connectionUpgrades = false
        var versionCount = 0
        var versionIs13 = false
        var keyCount = 0
        var key: WebSocketKeyText?
        var subprotocols: [String] = []
        var subprotocolsAreTokens = true
        var extensions: [WebSocketExtensionOffer] = []
        var extensionsAreValid = true
        var origin: String?
        head.forEachField { name, value in
            // Names as sent (or canonical, for a built request): the length rules out most at once.
            switch name.count {
            case 6 where HTTPSyntax.equalsCaseInsensitive(name, "origin"):
                // Several are joined, as `HTTPFields[.origin]` does: no real origin matches.
                let this = HTTPSyntax.string(value)
                origin = origin.map { $0 + ", " + this } ?? this
            case 7 where HTTPSyntax.equalsCaseInsensitive(name, "upgrade"):
                upgradesToWebSocket = upgradesToWebSocket || Self.lists(value, "websocket")
            case 10 where HTTPSyntax.equalsCaseInsensitive(name, "connection"):
                connectionUpgrades = connectionUpgrades || Self.lists(value, "upgrade")
            case 17 where HTTPSyntax.equalsCaseInsensitive(name, "sec-websocket-key"):
                keyCount += 1
                if key == nil { key = WebSocketKeyText(bytes: value) }
            case 21 where HTTPSyntax.equalsCaseInsensitive(name, "sec-websocket-version"):
                versionCount += 1
                versionIs13 = HTTPSyntax.equalsCaseSensitive(value, "13")
            case 22 where HTTPSyntax.equalsCaseInsensitive(name, "sec-websocket-protocol"):
                // RFC 6455 §4.1: tokens, as a comma-separated list.
                HTTPSyntax.forEachListElement(value) { item in
                    if HTTPSyntax.isToken(item) {
                        subprotocols.append(HTTPSyntax.string(item))
                    } else {
                        subprotocolsAreTokens = false
                    }
                }
            case 24 where HTTPSyntax.equalsCaseInsensitive(name, "sec-websocket-extensions"):
                // RFC 6455 §9.1, over all such fields.
                if let parsed = WebSocketExtensionParser.parse(value) {
                    extensions.append(contentsOf: parsed)
                } else {
                    extensionsAreValid = false
                }
            default:
                break
            }
        }
        self.upgradesToWebSocket = upgradesToWebSocket
        self.connectionUpgrades = connectionUpgrades
        self.versionCount = versionCount
        self.versionIs13 = versionIs13
        self.keyCount = keyCount
        self.key = key
        self.subprotocols = subprotocols
        self.subprotocolsAreTokens = subprotocolsAreTokens
        self.extensions = extensions
        self.extensionsAreValid = extensionsAreValid
        self.origin = origin
    }

    /// Whether the list `value` has `element` (a lowercase literal of letters, digits and `-`),
    /// comparing ASCII case-insensitively (RFC 9110 §5.6.1 lists).
    private static func lists(_ value: UnsafeRawBufferPointer, _ element: StaticString) -> Bool {
        // What browsers send: the element alone, no list to split.
        if HTTPSyntax.equalsCaseInsensitive(value, element) { return true }
        var found = false
        HTTPSyntax.forEachListElement(value) { item in
            if HTTPSyntax.equalsCaseInsensitive(item, element) { found = true }
        }
        return found
    }
}
