import HTTPTypes
import Testing

@testable import SwitchboardWire

/// A handshake request row: changes to a valid upgrade request and the expected refusal.
struct HandshakeCase: Sendable, CustomTestStringConvertible {
    let name: String
    var method = HTTPRequest.Method.get
    var isHTTP11 = true
    /// Fields replacing the valid ones with the same name; an empty value list removes them.
    var fields: [(HTTPField.Name, [String])] = []
    let status: Int
    let reason: String

    init(_ name: String, status: Int, _ reason: String, change: (inout HandshakeCase) -> Void = { _ in }) {
        self.name = name
        self.status = status
        self.reason = reason
        change(&self)
    }

    var testDescription: String { name }

    var request: HTTPRequest { handshakeRequest(method: method, replacing: fields) }
}

/// The RFC 6455 §1.3 sample request, with the given fields replaced.
func handshakeRequest(method: HTTPRequest.Method = .get, replacing: [(HTTPField.Name, [String])] = []) -> HTTPRequest {
    var fields: HTTPFields = [
        .upgrade: "websocket",
        .connection: "Upgrade",
        .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
        .origin: "http://example.com",
        .secWebSocketProtocol: "chat, superchat",
        .secWebSocketVersion: "13",
    ]
    for (name, values) in replacing { fields[values: name] = values }
    return HTTPRequest(
        method: method, scheme: nil, authority: "server.example.com", path: "/chat", headerFields: fields)
}

/// Validates `request` as built and again as the parser produces it from
/// the request's bytes (field names sent in upper case: the parsed path
/// reads them as sent), expects both to agree, and returns the outcome.
func validateBothWays(_ request: HTTPRequest, isHTTP11: Bool) throws(HTTPRefusal) -> WebSocketHandshakeRequest {
    let built = Result { () throws(HTTPRefusal) in try WebSocketHandshake.validate(request, isHTTP11: isHTTP11) }
    var text = "\(request.method.rawValue) \(request.path ?? "/") HTTP/1.\(isHTTP11 ? 1 : 0)\r\n"
    text += "Host: \(request.authority ?? "")\r\n"
    for field in request.headerFields { text += "\(field.name.rawName.uppercased()): \(field.value)\r\n" }
    text += "\r\n"
    var parser = HTTPRequestParser()
    parser.receive(Array(text.utf8))
    guard case .request(let head, _)? = try? parser.nextEvent() else {
        Issue.record("the parser did not return the request: \(text)")
        return try built.get()
    }
    let parsed = Result { () throws(HTTPRefusal) in try WebSocketHandshake.validate(head) }
    switch (built, parsed) {
    case (.success(let a), .success(let b)):
        #expect(a.key == b.key && a.subprotocols == b.subprotocols && a.extensions == b.extensions && a.origin == b.origin,
                "built \(a), parsed \(b)")
    case (.failure(let a), .failure(let b)):
        #expect(a == b)
    default:
        Issue.record("built \(built), parsed \(parsed)")
    }
    return try built.get()
}

@Suite("RFC 6455 §4.2: server handshake")
struct WebSocketHandshakeTests {
    static let refusals: [HandshakeCase] = [
        HandshakeCase("POST", status: 400, "WebSocket upgrade requires GET") { $0.method = .post },
        HandshakeCase("HEAD", status: 400, "WebSocket upgrade requires GET") { $0.method = .head },
        HandshakeCase("HTTP/1.0", status: 400, "WebSocket upgrade requires HTTP/1.1") { $0.isHTTP11 = false },
        HandshakeCase("no Upgrade", status: 400, "missing Upgrade: websocket") { $0.fields = [(.upgrade, [])] },
        HandshakeCase("Upgrade: h2c", status: 400, "missing Upgrade: websocket") { $0.fields = [(.upgrade, ["h2c"])] },
        HandshakeCase("Upgrade: websockets", status: 400, "missing Upgrade: websocket") {
            $0.fields = [(.upgrade, ["websockets"])]
        },
        HandshakeCase("no Connection", status: 400, "missing Connection: upgrade") { $0.fields = [(.connection, [])] },
        HandshakeCase("Connection: keep-alive", status: 400, "missing Connection: upgrade") {
            $0.fields = [(.connection, ["keep-alive"])]
        },
        HandshakeCase("Connection: upgrades", status: 400, "missing Connection: upgrade") {
            $0.fields = [(.connection, ["upgrades"])]
        },
        HandshakeCase("no version", status: 426, "unsupported Sec-WebSocket-Version") {
            $0.fields = [(.secWebSocketVersion, [])]
        },
        HandshakeCase("version 8", status: 426, "unsupported Sec-WebSocket-Version") {
            $0.fields = [(.secWebSocketVersion, ["8"])]
        },
        HandshakeCase("version 13, 8", status: 426, "unsupported Sec-WebSocket-Version") {
            $0.fields = [(.secWebSocketVersion, ["13, 8"])]
        },
        HandshakeCase("two version fields", status: 426, "unsupported Sec-WebSocket-Version") {
            $0.fields = [(.secWebSocketVersion, ["13", "13"])]
        },
        HandshakeCase("no key", status: 400, "missing Sec-WebSocket-Key") { $0.fields = [(.secWebSocketKey, [])] },
        HandshakeCase("two keys", status: 400, "duplicate Sec-WebSocket-Key") {
            $0.fields = [(.secWebSocketKey, ["dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ=="])]
        },
        HandshakeCase("key not Base64", status: 400, "invalid Sec-WebSocket-Key") {
            $0.fields = [(.secWebSocketKey, ["not a base64 key!!!!!!!!"])]
        },
        HandshakeCase("key of 15 bytes", status: 400, "invalid Sec-WebSocket-Key") {
            $0.fields = [(.secWebSocketKey, ["dGhlIHNhbXBsZSBub25jZQ"])]
        },
        HandshakeCase("key of 17 bytes", status: 400, "invalid Sec-WebSocket-Key") {
            $0.fields = [(.secWebSocketKey, ["dGhlIHNhbXBsZSBub25jZTE="])]
        },
        HandshakeCase("key without padding", status: 400, "invalid Sec-WebSocket-Key") {
            $0.fields = [(.secWebSocketKey, ["dGhlIHNhbXBsZSBub25jZQ"])]
        },
        HandshakeCase("key with non-zero pad bits", status: 400, "invalid Sec-WebSocket-Key") {
            $0.fields = [(.secWebSocketKey, ["dGhlIHNhbXBsZSBub25jZR=="])]
        },
        HandshakeCase("empty key", status: 400, "invalid Sec-WebSocket-Key") { $0.fields = [(.secWebSocketKey, [""])] },
        HandshakeCase("subprotocol with a space", status: 400, "invalid Sec-WebSocket-Protocol") {
            $0.fields = [(.secWebSocketProtocol, ["chat, super chat"])]
        },
        HandshakeCase("subprotocol with a slash", status: 400, "invalid Sec-WebSocket-Protocol") {
            $0.fields = [(.secWebSocketProtocol, ["v1/chat"])]
        },
    ]

    @Test("refusals and their status", arguments: refusals)
    func refusal(_ row: HandshakeCase) {
        #expect(throws: HTTPRefusal.self) {
            try validateBothWays(row.request, isHTTP11: row.isHTTP11)
        }
        do {
            _ = try validateBothWays(row.request, isHTTP11: row.isHTTP11)
        } catch {
            #expect(error.status.code == row.status)
            #expect(error.reason == row.reason)
            if row.status == 426 {
                // RFC 6455 §4.4: name the supported version; RFC 9110 §15.5.22: send Upgrade.
                #expect(error.headerFields[values: .secWebSocketVersion] == ["13"])
                #expect(error.headerFields[.upgrade] == "websocket")
            } else {
                #expect(error.headerFields.isEmpty)
            }
        }
    }

    static let malformedExtensions: [String] = [
        "permessage-deflate;",
        "; client_max_window_bits",
        "a=b",
        "foo bar",
        "foo;;bar",
        "foo; bar=",
        "foo; bar==1",
        "foo; bar=\"\"",
        "foo; bar=\"a b\"",
        "foo; bar=\"1,2\"",
        "foo; bar=\"unterminated",
        "foo; bar=\"1\\",
        "foo; b@r",
        "f{o}o",
        "foo, \"bar\"",
    ]

    @Test("a malformed Sec-WebSocket-Extensions is 400", arguments: malformedExtensions)
    func malformedExtension(_ value: String) {
        let request = handshakeRequest(replacing: [(.secWebSocketExtensions, [value])])
        #expect(throws: HTTPRefusal.badRequest("invalid Sec-WebSocket-Extensions")) {
            try validateBothWays(request, isHTTP11: true)
        }
    }

    @Test("the RFC 6455 §1.3 request is accepted with everything it offers")
    func valid() throws {
        let request = handshakeRequest(replacing: [
            (.secWebSocketExtensions, ["permessage-deflate; client_max_window_bits, x-webkit-deflate-frame"])
        ])
        let offer = try validateBothWays(request, isHTTP11: true)
        #expect(offer.key == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(offer.subprotocols == ["chat", "superchat"])
        #expect(offer.origin == "http://example.com")
        #expect(
            offer.extensions == [
                WebSocketExtensionOffer(
                    name: "permessage-deflate",
                    parameters: [WebSocketExtensionParameter(name: "client_max_window_bits")]),
                WebSocketExtensionOffer(name: "x-webkit-deflate-frame"),
            ]
        )
    }

    @Test("tokens are matched ignoring case, within lists, over several fields")
    func lenientSpellings() throws {
        let request = handshakeRequest(replacing: [
            (.upgrade, ["h2c", "WebSocket"]),
            (.connection, ["keep-alive, UPGRADE"]),
            (.secWebSocketProtocol, ["  a , b", "c,,d"]),
            (.origin, []),
        ])
        let offer = try validateBothWays(request, isHTTP11: true)
        #expect(offer.subprotocols == ["a", "b", "c", "d"])
        #expect(offer.extensions.isEmpty)
        #expect(offer.origin == nil)
    }

    @Test("extension parameters: tokens, quoted values with escapes, whitespace, several fields")
    func extensionParsing() throws {
        let request = handshakeRequest(replacing: [
            (
                .secWebSocketExtensions,
                [
                    "permessage-deflate ; client_max_window_bits = 10 ;server_no_context_takeover",
                    ", permessage-deflate; client_max_window_bits=\"1\\5\"; x=\"y\" ,, ",
                ]
            )
        ])
        let offers = try validateBothWays(request, isHTTP11: true).extensions
        #expect(
            offers == [
                WebSocketExtensionOffer(
                    name: "permessage-deflate",
                    parameters: [
                        WebSocketExtensionParameter(name: "client_max_window_bits", value: "10"),
                        WebSocketExtensionParameter(name: "server_no_context_takeover"),
                    ]
                ),
                WebSocketExtensionOffer(
                    name: "permessage-deflate",
                    parameters: [
                        WebSocketExtensionParameter(name: "client_max_window_bits", value: "15"),
                        WebSocketExtensionParameter(name: "x", value: "y"),
                    ]
                ),
            ]
        )
        #expect(offers[0].parameter(named: "Client_Max_Window_Bits")?.value == "10")
        #expect(offers[1].parameter(named: "server_no_context_takeover") == nil)
    }

    @Test("the accept value of the RFC 6455 §1.3 example")
    func acceptValue() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        // RFC 6455 §4.1 client example key, checked against an independent implementation.
        #expect(WebSocketHandshake.acceptValue(forKey: "x3JJHMbDL1EzLkh9GBhXDw==") == "HSmrc0sMlYUkAGmm5OPpG2HaGWk=")
    }

    @Test("the 101 response fields")
    func responseFields() {
        let plain = WebSocketHandshake.responseFields(
            forKey: "dGhlIHNhbXBsZSBub25jZQ==", subprotocol: nil, extensions: nil)
        #expect(
            plain.map { "\($0.name.rawName): \($0.value)" } == [
                "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            ]
        )
        let full = WebSocketHandshake.responseFields(
            forKey: "dGhlIHNhbXBsZSBub25jZQ==",
            subprotocol: "chat",
            extensions: "permessage-deflate; server_no_context_takeover"
        )
        #expect(full[.secWebSocketProtocol] == "chat")
        #expect(full[.secWebSocketExtensions] == "permessage-deflate; server_no_context_takeover")
        #expect(full.count == 5)
    }

    @Test("the 101 written directly is the serialised response, with and without protocol and extension")
    func responseHeadBytes() throws {
        let agreement = try #require(PerMessageDeflateNegotiation.negotiate(
            [WebSocketExtensionOffer(name: "permessage-deflate")],
            policy: PerMessageDeflatePolicy(serverNoContextTakeover: true, clientNoContextTakeover: false)))
        for key in ["dGhlIHNhbXBsZSBub25jZQ==", "x3JJHMbDL1EzLkh9GBhXDw==", "AAAAAAAAAAAAAAAAAAAAAA=="] {
            for subprotocol in [nil, "chat"] {
                for deflate in [nil, agreement] {
                    let accept = WebSocketAccept(key: key, subprotocol: subprotocol, deflate: deflate)
                    var expected: [UInt8] = []
                    serializeResponseHead(accept.response, into: &expected)
                    var direct: [UInt8] = [0x2A]  // appends after what is there
                    accept.appendResponseHead(to: &direct)
                    #expect(direct == [0x2A] + expected, "\(key) \(subprotocol ?? "-") \(deflate != nil)")
                    // Written into a buffer of exactly the announced size.
                    #expect(accept.responseHeadByteCount == expected.count)
                    let written = [UInt8](unsafeUninitializedCapacity: accept.responseHeadByteCount) { buffer, count in
                        accept.writeResponseHead(to: UnsafeMutableRawBufferPointer(buffer))
                        count = buffer.count
                    }
                    #expect(written == expected)
                }
            }
        }
    }
}

@Suite("RFC 4648 §4: Base64 for Sec-WebSocket-Key")
struct Base64Tests {
    /// RFC 4648 §10.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test("RFC 4648 §10 test vectors encode and decode")
    func vectors() {
        for (plain, encoded) in Self.vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
    }

    @Test("every byte value at every length round-trips")
    func roundTrip() {
        let bytes = (0...255).map(UInt8.init) + [UInt8].pattern(count: 40)
        for length in 0...40 {
            for start in stride(from: 0, to: bytes.count - length, by: 37) {
                let slice = Array(bytes[start..<(start + length)])
                #expect(Base64.decode(Base64.encode(slice)) == slice)
                var raw = [UInt8](repeating: 0, count: (length + 2) / 3 * 4)
                let written = slice.withUnsafeBytes { bytes in raw.withUnsafeMutableBytes { Base64.encode(bytes, into: $0) } }
                #expect(written == raw.count && String(decoding: raw, as: UTF8.self) == Base64.encode(slice))
                #expect(raw.withUnsafeBytes { Base64.decodedCount($0) } == length)
            }
        }
        #expect(Base64.decode(Base64.encode(bytes)) == bytes)
    }

    @Test("strict decoding refuses everything but the canonical form")
    func strict() {
        let refused = [
            "Zg=", "Zg", "Z", "Zh==", "Zm9=", "Zg==Zg==", "Z===", "====", "Zm 9v", "Zm9v\n", "Zm-v", "Zm_v", "Zm9v=",
            "Zg=a", "é123",
        ]
        for text in refused {
            #expect(Base64.decode(text) == nil, "\(text)")
            #expect(Array(text.utf8).withUnsafeBytes { Base64.decodedCount($0) } == nil, "\(text)")
        }
    }
}
