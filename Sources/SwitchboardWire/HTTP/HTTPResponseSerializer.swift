public import HTTPTypes

/// Appends an HTTP/1.1 response head to `buffer` (RFC 9112 §4, §5):
/// `"HTTP/1.1 " status-code SP reason-phrase CRLF *( field-line CRLF ) CRLF`.
///
/// The header fields are written in order, with their names as given. The caller supplies
/// Content-Length, Transfer-Encoding, Connection and the like in those fields. An empty
/// reason phrase is replaced by the RFC 9110 §15 phrase for the code when there is one (the
/// SP before it is always written, as RFC 9112 §4 requires). `HTTPTypes` has already turned
/// CR, LF and other control bytes in names, values and reason phrases into spaces, so a
/// response head cannot be split.
public func serializeResponseHead(_ response: HTTPResponse, into buffer: inout [UInt8]) {
    let status = response.status
    appendASCII("HTTP/1.1 ", to: &buffer)
    let code = status.code
    buffer.append(UInt8(truncatingIfNeeded: 0x30 + code / 100 % 10))
    buffer.append(UInt8(truncatingIfNeeded: 0x30 + code / 10 % 10))
    buffer.append(UInt8(truncatingIfNeeded: 0x30 + code % 10))
    buffer.append(HTTPSyntax.sp)
    if status.reasonPhrase.isEmpty {
        appendASCII(HTTPReasonPhrases.standard(for: code), to: &buffer)
    } else {
        appendLatin1(status.reasonPhrase, to: &buffer)
    }
    appendASCII("\r\n", to: &buffer)
    for field in response.headerFields {
        buffer.append(contentsOf: field.name.rawName.utf8)
        appendASCII(": ", to: &buffer)
        field.withUnsafeBytesOfValue { buffer.append(contentsOf: $0) }
        appendASCII("\r\n", to: &buffer)
    }
    appendASCII("\r\n", to: &buffer)
}

@inline(__always)
private func appendASCII(_ text: StaticString, to buffer: inout [UInt8]) {
    text.withUTF8Buffer { buffer.append(contentsOf: $0) }
}

/// Writes a reason phrase as ISO Latin 1, as `HTTPResponse.Status` documents; `HTTPTypes`
/// already limited it to HTAB, SP, VCHAR and U+0080–U+00FF, and anything else becomes SP.
private func appendLatin1(_ text: String, to buffer: inout [UInt8]) {
    if text.utf8.allSatisfy({ $0 < 0x80 }) {
        buffer.append(contentsOf: text.utf8)
        return
    }
    for scalar in text.unicodeScalars {
        let value = scalar.value
        let legal = value == 0x09 || (0x20...0x7E).contains(value) || (0x80...0xFF).contains(value)
        buffer.append(legal ? UInt8(truncatingIfNeeded: value) : HTTPSyntax.sp)
    }
}
