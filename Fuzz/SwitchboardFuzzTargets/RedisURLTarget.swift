import SwitchboardRedis

/// `redis-url`: the input is a `REDIS_URL` value.
///
/// Parsing never crashes. An accepted URL has a host, a port from 1 to
/// 65535 and a database of at least 0; its description never depends on the
/// password (so it cannot show it) and marks it with `***`; written back
/// with percent-escapes, it parses to the same URL. A refusal's message
/// never repeats credentials: anything it quotes from the input is a
/// scheme (RFC 3986 §3.1), which holds no `:` or `@`.
enum RedisURLTarget {
    static let target = FuzzTarget(
        name: "redis-url",
        summary: "RedisURL(parsing:): fields, description, round trip, errors",
        check: check
    )

    static func check(_ input: [UInt8]) throws(PropertyViolation) {
        let text = String(decoding: input, as: UTF8.self)
        let url: RedisURL
        do {
            url = try RedisURL(parsing: text)
        } catch {
            try checkRefusal(error)
            return
        }
        try require(!url.host.isEmpty, "accepted without a host")
        try require((1...65535).contains(url.port), "port \(url.port)")
        try require(url.database >= 0, "database \(url.database)")
        try require(url.username == nil || url.password != nil, "a username without a password")
        if url.password != nil {
            var other = url
            other.password = url.password == "x" ? "y" : "x"
            try require(url.description == other.description, "the description depends on the password: \(url)")
            // Bytes, not Characters: a host that starts with a combining
            // mark joins the "@" before it into one grapheme cluster.
            try require(url.description.utf8.contains(":***@".utf8), "the password is not masked in \(url)")
        }
        let written = spelled(url)
        do {
            let again = try RedisURL(parsing: written)
            try require(again == url, "\(written.debugDescription) parsed as \(again), not \(url)")
        } catch {
            throw PropertyViolation("\(written.debugDescription), written from \(url), was refused: \(error)")
        }
    }

    /// The parser's messages are fixed text, except the scheme it names.
    private static func checkRefusal(_ error: RedisURLError) throws(PropertyViolation) {
        let reason = error.reason
        guard let open = reason.firstIndex(of: "\""), reason.hasPrefix("unsupported scheme") else {
            try require(!reason.contains("\""), "a message quoting the input: \(reason)")
            return
        }
        let quoted = reason[reason.index(after: open)...].prefix { $0 != "\"" }
        try require(
            quoted.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) },
            "the message quotes \(quoted.debugDescription), which is not a scheme"
        )
    }

    /// `url` as a URL string, credentials percent-escaped.
    private static func spelled(_ url: RedisURL) -> String {
        var text = "redis://"
        if let password = url.password {
            text += escaped(url.username ?? "") + ":" + escaped(password) + "@"
        }
        text += url.host.utf8.contains(UInt8(ascii: ":")) ? "[\(url.host)]" : url.host
        return text + ":\(url.port)/\(url.database)"
    }

    /// Every byte but letters and digits as %XX, so no delimiter survives.
    private static func escaped(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF")
        var out = ""
        for byte in text.utf8 {
            if (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) {
                out.append(Character(Unicode.Scalar(byte)))
            } else {
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return out
    }
}
