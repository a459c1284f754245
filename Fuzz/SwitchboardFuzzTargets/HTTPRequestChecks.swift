import HTTPTypes
import SwitchboardWire

/// What every request the parser returns must satisfy, whatever the input:
/// the limits hold, the framing fields agree with the body, and the
/// connection semantics follow RFC 9112 §9.3 and RFC 9110 §7.8.
enum HTTPRequestChecks {
    static func check(_ head: HTTPRequestHead, body: [UInt8], limits: HTTPParserLimits) throws(PropertyViolation) {
        let fields = head.request.headerFields
        try require(body.count <= limits.maxBodySize, "a \(body.count)-byte body passed the \(limits.maxBodySize)-byte limit")
        try require(fields.count <= limits.maxHeaderCount, "\(fields.count) fields passed the limit of \(limits.maxHeaderCount)")
        try require(
            (head.request.path?.utf8.count ?? 0) <= limits.maxRequestTargetLength,
            "a path longer than the request-target limit"
        )
        try require(head.version == .http1_1 || head.version == .http1_0, "version \(head.version)")
        let lengths = fields[values: .contentLength]
        let codings = fields[values: .transferEncoding]
        // RFC 9112 §6.3: never both, at most one Content-Length, and it is the body's size.
        try require(lengths.isEmpty || codings.isEmpty, "Content-Length together with Transfer-Encoding")
        try require(lengths.count <= 1, "\(lengths.count) Content-Length fields")
        if let length = lengths.first {
            try require(Int(length) == body.count, "Content-Length \(length) for a \(body.count)-byte body")
        } else if codings.isEmpty {
            try require(body.isEmpty, "a body without Content-Length or Transfer-Encoding")
        } else {
            try require(head.version == .http1_1, "Transfer-Encoding in \(head.version)")
        }
        // RFC 9110 §7.8: an upgrade needs the Upgrade field, and HTTP/1.0 ignores it.
        if head.isUpgradeRequest {
            try require(head.version == .http1_1, "an upgrade request in \(head.version)")
            try require(fields[.upgrade] != nil, "an upgrade request without Upgrade")
        }
        // RFC 9112 §9.3: HTTP/1.0 stays open only when it asks for keep-alive.
        if head.version == .http1_0 && head.keepAlive {
            try require(fields[.connection] != nil, "HTTP/1.0 kept alive without Connection: keep-alive")
        }
    }
}
