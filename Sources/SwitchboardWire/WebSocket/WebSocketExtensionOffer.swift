/// One extension a client offered in `Sec-WebSocket-Extensions` (RFC 6455 §9.1), such as
/// `permessage-deflate; client_max_window_bits`.
public struct WebSocketExtensionOffer: Sendable, Hashable {
    /// The extension token as sent, e.g. `permessage-deflate`.
    public var name: String
    /// The parameters in the order sent; quoted values are unescaped.
    public var parameters: [WebSocketExtensionParameter]

    public init(name: String, parameters: [WebSocketExtensionParameter] = []) {
        self.name = name
        self.parameters = parameters
    }

    /// The first parameter with this name (compared ignoring ASCII case), if any.
    public func parameter(named name: String) -> WebSocketExtensionParameter? {
        parameters.first { Self.equalsIgnoringASCIICase($0.name, name) }
    }

    private static func equalsIgnoringASCIICase(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count
            && zip(lhs.utf8, rhs.utf8).allSatisfy { a, b in
                a == b || (a | 0x20 == b | 0x20 && (a | 0x20) &- 0x61 < 26)
            }
    }
}

/// An extension parameter (RFC 6455 §9.1): `name` or `name=value`.
public struct WebSocketExtensionParameter: Sendable, Hashable {
    /// The parameter token, e.g. `client_max_window_bits`.
    public var name: String
    /// The value, unquoted and unescaped; nil when the parameter has none.
    public var value: String?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}

/// A parser for the `Sec-WebSocket-Extensions` grammar (RFC 6455 §9.1):
///
/// ```text
/// extension-list = 1#extension
/// extension      = extension-token *( ";" extension-param )
/// extension-param = token [ "=" (token | quoted-string) ]
/// ```
///
/// "When using the quoted-string syntax variant, the value after quoted-string unescaping MUST
/// conform to the 'token' ABNF." Optional whitespace is allowed around `,`, `;` and `=`, and
/// empty list elements are skipped (RFC 9110 §5.6.1).
///
/// `package` so the fuzz target can feed it arbitrary field values.
package struct WebSocketExtensionParser {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The offers in one field value, or nil if the value does not follow the grammar.
    package static func parse(_ value: UnsafeRawBufferPointer) -> [WebSocketExtensionOffer]? {
        var parser = WebSocketExtensionParser(value)
        return parser.parseList()
    }

    private mutating func parseList() -> [WebSocketExtensionOffer]? {
        var offers: [WebSocketExtensionOffer] = []
        while true {
            skipWhitespace()
            guard let byte = peek() else { return offers }
            if byte == HTTPSyntax.comma {
                index += 1  // an empty element
                continue
            }
            guard let name = token() else { return nil }
            var offer = WebSocketExtensionOffer(name: name)
            skipWhitespace()
            while peek() == HTTPSyntax.semicolon {
                index += 1
                skipWhitespace()
                guard let parameterName = token() else { return nil }
                var value: String?
                skipWhitespace()
                if peek() == HTTPSyntax.equals {
                    index += 1
                    skipWhitespace()
                    guard let parameterValue = peek() == HTTPSyntax.dquote ? quotedToken() : token() else {
                        return nil
                    }
                    value = parameterValue
                    skipWhitespace()
                }
                offer.parameters.append(WebSocketExtensionParameter(name: parameterName, value: value))
            }
            offers.append(offer)
            guard let next = peek() else { return offers }
            guard next == HTTPSyntax.comma else { return nil }
            index += 1
        }
    }

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), HTTPSyntax.isWhitespace(byte) { index += 1 }
    }

    /// A `token` (RFC 9110 §5.6.2), or nil if none starts here.
    private mutating func token() -> String? {
        let start = index
        while let byte = peek(), HTTPSyntax.isTokenChar(byte) { index += 1 }
        guard index > start else { return nil }
        return HTTPSyntax.string(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
    }

    /// A `quoted-string` (RFC 9110 §5.6.4) whose unescaped content is a token, or nil.
    private mutating func quotedToken() -> String? {
        guard peek() == HTTPSyntax.dquote else { return nil }
        index += 1
        var content: [UInt8] = []
        while let byte = peek() {
            index += 1
            switch byte {
            case HTTPSyntax.dquote:
                guard !content.isEmpty, content.allSatisfy(HTTPSyntax.isTokenChar) else { return nil }
                return String(decoding: content, as: UTF8.self)
            case HTTPSyntax.backslash:
                // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ); only tchars can pass the
                // token check afterwards, so take the byte and let that check decide.
                guard let escaped = peek() else { return nil }
                index += 1
                content.append(escaped)
            default:
                content.append(byte)
            }
        }
        return nil  // no closing quote
    }
}
