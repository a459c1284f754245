import HTTPTypes

/// Common request field names, so the hot path can reuse `HTTPTypes`' static names instead
/// of building, validating and lowercasing a `String` per field line.
///
/// Only an exact, case-sensitive match is taken, so the received spelling is preserved
/// (RFC 9110 §5.1: names are case-insensitive, and `HTTPField.Name` keeps the raw form).
enum HTTPKnownFieldNames {
    /// The static name spelled exactly like `bytes`, or nil.
    static func name(exactly bytes: UnsafeRawBufferPointer) -> HTTPField.Name? {
        switch bytes.count {
        case 6:
            if HTTPSyntax.equalsCaseSensitive(bytes, "Accept") { return .accept }
            if HTTPSyntax.equalsCaseSensitive(bytes, "Cookie") { return .cookie }
            if HTTPSyntax.equalsCaseSensitive(bytes, "Origin") { return .origin }
        case 7:
            if HTTPSyntax.equalsCaseSensitive(bytes, "Upgrade") { return .upgrade }
            if HTTPSyntax.equalsCaseSensitive(bytes, "Referer") { return .referer }
        case 10:
            if HTTPSyntax.equalsCaseSensitive(bytes, "User-Agent") { return .userAgent }
            if HTTPSyntax.equalsCaseSensitive(bytes, "Connection") { return .connection }
        case 12:
            if HTTPSyntax.equalsCaseSensitive(bytes, "Content-Type") { return .contentType }
        case 13:
            if HTTPSyntax.equalsCaseSensitive(bytes, "Cache-Control") { return .cacheControl }
            if HTTPSyntax.equalsCaseSensitive(bytes, "Authorization") { return .authorization }
            if HTTPSyntax.equalsCaseSensitive(bytes, "If-None-Match") { return .ifNoneMatch }
        case 14:
            if HTTPSyntax.equalsCaseSensitive(bytes, "Content-Length") { return .contentLength }
        case 15:
            if HTTPSyntax.equalsCaseSensitive(bytes, "Accept-Encoding") { return .acceptEncoding }
            if HTTPSyntax.equalsCaseSensitive(bytes, "Accept-Language") { return .acceptLanguage }
        case 17:
            if HTTPSyntax.equalsCaseSensitive(bytes, "Transfer-Encoding") { return .transferEncoding }
            if HTTPSyntax.equalsCaseSensitive(bytes, "Sec-WebSocket-Key") { return .secWebSocketKey }
            if HTTPSyntax.equalsCaseSensitive(bytes, "If-Modified-Since") { return .ifModifiedSince }
        // Every WebSocket upgrade request has a version, most offer extensions.
        case 21:
            if HTTPSyntax.equalsCaseSensitive(bytes, "Sec-WebSocket-Version") { return .secWebSocketVersion }
        case 22:
            if HTTPSyntax.equalsCaseSensitive(bytes, "Sec-WebSocket-Protocol") { return .secWebSocketProtocol }
        case 24:
            if HTTPSyntax.equalsCaseSensitive(bytes, "Sec-WebSocket-Extensions") { return .secWebSocketExtensions }
        default:
            break
        }
        return nil
    }
}
