/// The request-target split into the pseudo-header parts `HTTPRequest` carries
/// (RFC 9112 §3.2).
struct HTTPRequestTarget: Sendable, Equatable {
    var scheme: String?
    var authority: String?
    var path: String?

    /// Which method-dependent forms are allowed.
    enum MethodKind: Sendable {
        case connect
        case options
        case other
    }

    /// Splits `bytes` (already checked to be visible ASCII) by form:
    ///
    /// - origin-form `/path?query` (§3.2.1): the path is the target as sent.
    /// - absolute-form `http://authority/path?query` (§3.2.2): scheme and authority are split
    ///   off; an empty path becomes `/`. Only the `http` and `https` schemes are accepted, since
    ///   this server is not a proxy, and userinfo is rejected (RFC 9110 §4.2.4).
    /// - authority-form `host:port` (§3.2.3): CONNECT only, and CONNECT allows nothing else.
    /// - asterisk-form `*` (§3.2.4): OPTIONS only.
    ///
    /// A fragment (`#`) is never part of a request-target, so it is rejected in every form.
    static func parse(_ bytes: UnsafeRawBufferPointer, method: MethodKind) throws(HTTPRefusal) -> HTTPRequestTarget {
        guard !bytes.contains(HTTPSyntax.hash) else { throw .badRequest("fragment in request-target") }
        if method == .connect {
            guard HTTPAuthority.isValid(bytes, requirePort: true) else {
                throw .badRequest("CONNECT requires authority-form")
            }
            return HTTPRequestTarget(scheme: nil, authority: HTTPSyntax.string(bytes), path: nil)
        }
        switch bytes[0] {
        case HTTPSyntax.slash:
            return HTTPRequestTarget(scheme: nil, authority: nil, path: HTTPSyntax.string(bytes))
        case HTTPSyntax.asterisk where bytes.count == 1:
            guard method == .options else { throw .badRequest("asterisk-form is only for OPTIONS") }
            return HTTPRequestTarget(scheme: nil, authority: nil, path: "*")
        default:
            return try parseAbsoluteForm(bytes)
        }
    }

    private static func parseAbsoluteForm(_ bytes: UnsafeRawBufferPointer) throws(HTTPRefusal) -> HTTPRequestTarget {
        let scheme: String
        let rest: UnsafeRawBufferPointer
        if let afterScheme = dropPrefix(bytes, "http://") {
            scheme = "http"
            rest = afterScheme
        } else if let afterScheme = dropPrefix(bytes, "https://") {
            scheme = "https"
            rest = afterScheme
        } else {
            throw .badRequest("invalid request-target")
        }
        let authorityEnd =
            rest.firstIndex { $0 == HTTPSyntax.slash || $0 == HTTPSyntax.question } ?? rest.count
        let authority = UnsafeRawBufferPointer(rebasing: rest[..<authorityEnd])
        guard HTTPAuthority.isValid(authority, requirePort: false) else {
            throw .badRequest("invalid authority in request-target")
        }
        let pathBytes = UnsafeRawBufferPointer(rebasing: rest[authorityEnd...])
        let path: String
        if pathBytes.isEmpty {
            path = "/"
        } else if pathBytes[0] == HTTPSyntax.question {
            path = "/" + HTTPSyntax.string(pathBytes)
        } else {
            path = HTTPSyntax.string(pathBytes)
        }
        return HTTPRequestTarget(scheme: scheme, authority: HTTPSyntax.string(authority), path: path)
    }

    /// The bytes after `prefix` (compared ignoring ASCII case), or nil.
    private static func dropPrefix(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> UnsafeRawBufferPointer? {
        let length = prefix.utf8CodeUnitCount
        guard bytes.count >= length else { return nil }
        let matches = prefix.withUTF8Buffer { literal in
            (0..<length).allSatisfy { index in
                let byte = bytes[index]
                let lowered = (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
                return lowered == literal[index]
            }
        }
        return matches ? UnsafeRawBufferPointer(rebasing: bytes[length...]) : nil
    }
}
