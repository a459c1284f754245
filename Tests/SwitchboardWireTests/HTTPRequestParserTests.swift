import HTTPTypes
import Testing

@testable import SwitchboardWire

/// A table row expecting exactly one request.
struct ValidCase: Sendable, CustomTestStringConvertible {
    let name: String
    let input: [UInt8]
    var limits: HTTPParserLimits = .default
    var method = "GET"
    var scheme: String?
    var authority: String? = "example.com"
    var path: String? = "/"
    var version = HTTPVersion.http1_1
    var keepAlive = true
    var upgrade = false
    /// "Name: value" lines in order; nil skips the check.
    var fields: [String]?
    var body = ""

    init(_ name: String, _ input: String) {
        self.name = name
        self.input = [UInt8](input)
    }

    var testDescription: String { name }

    func with(_ change: (inout ValidCase) -> Void) -> ValidCase {
        var copy = self
        change(&copy)
        return copy
    }
}

@Suite("RFC 9112 §2–§5: request line and field lines")
struct HTTPRequestParserTests {
    static let valid: [ValidCase] = [
        ValidCase("simple GET; Host becomes the authority, not a field", head("GET / HTTP/1.1", "Host: example.com"))
            .with { $0.fields = [] },
        ValidCase("origin-form with query", head("GET /a/b?c=d&e HTTP/1.1", "Host: example.com"))
            .with { $0.path = "/a/b?c=d&e" },
        ValidCase(
            "OWS around values is trimmed, inner whitespace kept",
            head("GET / HTTP/1.1", "Host:example.com", "X-A: \t v1 \t ", "X-B:", "X-C:   ", "X-D: a \t b")
        ).with { $0.fields = ["X-A: v1", "X-B: ", "X-C: ", "X-D: a \t b"] },
        // Values of eight bytes and more are checked a word at a time:
        // whitespace inside and after them, at every offset of a word.
        ValidCase(
            "OWS after long values is trimmed, inner whitespace and HTAB kept",
            head("GET / HTTP/1.1", "Host: example.com", "X-A: abcdefghijklmnop \t ", "X-B: abcdefg\thijklmnopq", "X-C: abcdefgh        ")
        ).with { $0.fields = ["X-A: abcdefghijklmnop", "X-B: abcdefg\thijklmnopq", "X-C: abcdefgh"] },
        ValidCase(
            "field names and order are preserved",
            head("GET / HTTP/1.1", "hOsT: example.com", "x-lower: 1", "User-Agent: t", "user-agent: u", "ACCEPT: */*")
        ).with { $0.fields = ["x-lower: 1", "User-Agent: t", "user-agent: u", "ACCEPT: */*"] },
        ValidCase("obs-text in a value", "GET / HTTP/1.1\r\nHost: example.com\r\nX-Name: caf\u{E9}\r\n\r\n")
            .with { $0.fields = ["X-Name: caf\u{E9}"] },
        ValidCase("absolute-form", head("GET http://example.com:8080/x?y HTTP/1.1", "Host: other.example"))
            .with {
                $0.scheme = "http"
                $0.authority = "example.com:8080"
                $0.path = "/x?y"
            },
        ValidCase("absolute-form, empty path", head("GET HTTPS://Example.com HTTP/1.1", "Host: example.com"))
            .with {
                $0.scheme = "https"
                $0.authority = "Example.com"
            },
        ValidCase("absolute-form, query only", head("GET http://example.com?q=1 HTTP/1.1", "Host: example.com"))
            .with {
                $0.scheme = "http"
                $0.path = "/?q=1"
            },
        ValidCase("asterisk-form for OPTIONS", head("OPTIONS * HTTP/1.1", "Host: example.com"))
            .with {
                $0.method = "OPTIONS"
                $0.path = "*"
            },
        ValidCase("authority-form for CONNECT", head("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"))
            .with {
                $0.method = "CONNECT"
                $0.authority = "example.com:443"
                $0.path = nil
            },
        ValidCase("extension method", head("PURGE /cache HTTP/1.1", "Host: example.com"))
            .with {
                $0.method = "PURGE"
                $0.path = "/cache"
            },
        ValidCase("HTTP/1.0 closes by default, Host optional", head("GET / HTTP/1.0"))
            .with {
                $0.version = .http1_0
                $0.keepAlive = false
                $0.authority = nil
            },
        ValidCase("HTTP/1.0 keep-alive", head("GET / HTTP/1.0", "Connection: Keep-Alive"))
            .with {
                $0.version = .http1_0
                $0.authority = nil
            },
        ValidCase("HTTP/1.0 keep-alive and close", head("GET / HTTP/1.0", "Connection: keep-alive", "Connection: close"))
            .with {
                $0.version = .http1_0
                $0.keepAlive = false
                $0.authority = nil
            },
        ValidCase("HTTP/1.0 ignores Upgrade", head("GET / HTTP/1.0", "Connection: upgrade", "Upgrade: websocket"))
            .with {
                $0.version = .http1_0
                $0.keepAlive = false
                $0.authority = nil
            },
        ValidCase("Connection: close", head("GET / HTTP/1.1", "Host: example.com", "Connection: close"))
            .with { $0.keepAlive = false },
        ValidCase("close in a list, any case", head("GET / HTTP/1.1", "Host: example.com", "Connection: foo ,, CLOSE"))
            .with { $0.keepAlive = false },
        ValidCase("Connection: keep-alive on 1.1", head("GET / HTTP/1.1", "Host: example.com", "Connection: keep-alive")),
        ValidCase(
            "upgrade request",
            head("GET /chat HTTP/1.1", "Host: example.com", "Upgrade: websocket", "Connection: keep-alive, Upgrade")
        ).with {
            $0.path = "/chat"
            $0.upgrade = true
        },
        ValidCase("Connection: upgrade without Upgrade", head("GET / HTTP/1.1", "Host: example.com", "Connection: upgrade")),
        ValidCase("Upgrade without the Connection option", head("GET / HTTP/1.1", "Host: example.com", "Upgrade: websocket")),
        ValidCase("two leading CRLFs", "\r\n\r\n" + head("GET / HTTP/1.1", "Host: example.com")),
        ValidCase("four leading CRLFs", "\r\n\r\n\r\n\r\n" + head("GET / HTTP/1.1", "Host: example.com")),
        ValidCase("Host with port", head("GET / HTTP/1.1", "Host: example.com:8080"))
            .with { $0.authority = "example.com:8080" },
        ValidCase("IPv6 Host", head("GET / HTTP/1.1", "Host: [::1]:8080"))
            .with { $0.authority = "[::1]:8080" },
        ValidCase("empty Host (RFC 9110 §7.2)", head("GET / HTTP/1.1", "Host:"))
            .with { $0.authority = nil },
        ValidCase("Content-Length body", head("POST /p HTTP/1.1", "Host: example.com", "Content-Length: 5") + "hello")
            .with {
                $0.method = "POST"
                $0.path = "/p"
                $0.body = "hello"
            },
        ValidCase("Content-Length 0", head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 0"))
            .with { $0.method = "POST" },
        ValidCase("Content-Length with leading zeros and OWS", head("POST / HTTP/1.1", "Host: example.com", "Content-Length:  003 ") + "abc")
            .with {
                $0.method = "POST"
                $0.body = "abc"
            },
        ValidCase("Content-Length of 18 digits", head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 000000000000000002") + "ok")
            .with {
                $0.method = "POST"
                $0.body = "ok"
            },
        ValidCase("HTTP/1.0 with Content-Length", head("POST / HTTP/1.0", "Content-Length: 2") + "hi")
            .with {
                $0.method = "POST"
                $0.version = .http1_0
                $0.keepAlive = false
                $0.authority = nil
                $0.body = "hi"
            },
        ValidCase("request-target exactly at the limit", head("GET /" + String(repeating: "a", count: 31) + " HTTP/1.1", "Host: example.com"))
            .with {
                $0.limits = smallLimits()
                $0.path = "/" + String(repeating: "a", count: 31)
            },
        ValidCase("head exactly at the limit", head("GET / HTTP/1.1", "Host: example.com", "X: " + String(repeating: "v", count: 22)))
            .with { $0.limits = smallLimits(maxHeadSize: 64) },
        ValidCase("header count exactly at the limit", head("GET / HTTP/1.1", "Host: example.com", "A: 1", "B: 2"))
            .with { $0.limits = smallLimits(maxHeaderCount: 3) },
        ValidCase("body exactly at the limit", head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 64") + String(repeating: "b", count: 64))
            .with {
                $0.limits = smallLimits()
                $0.method = "POST"
                $0.body = String(repeating: "b", count: 64)
            },
    ]

    @Test("valid heads, whole and split at every byte", arguments: valid)
    func validHead(_ row: ValidCase) {
        let outcome = parseEverySplit(row.input, limits: row.limits)
        #expect(outcome.error == nil)
        #expect(outcome.requests.count == 1)
        guard let parsed = outcome.requests.first else { return }
        #expect(parsed.request.method.rawValue == row.method)
        #expect(parsed.request.scheme == row.scheme)
        #expect(parsed.request.authority == row.authority)
        #expect(parsed.request.path == row.path)
        #expect(parsed.version == row.version)
        #expect(parsed.keepAlive == row.keepAlive)
        #expect(parsed.isUpgradeRequest == row.upgrade)
        #expect(parsed.bodyText == row.body)
        if let fields = row.fields { #expect(parsed.fieldLines == fields) }
    }

    static let invalid: [InvalidCase] = [
        // RFC 9112 §3: request-line = method SP request-target SP HTTP-version
        InvalidCase("two spaces after the method", head("GET  / HTTP/1.1", "Host: h"), 400, "empty request-target"),
        InvalidCase("space before the method", head(" GET / HTTP/1.1", "Host: h"), 400, "invalid request line"),
        InvalidCase("tab as separator", head("GET\t/ HTTP/1.1", "Host: h"), 400, "invalid method"),
        InvalidCase("non-token method", head("G@T / HTTP/1.1", "Host: h"), 400, "invalid method"),
        InvalidCase("method only", head("GET", "Host: h"), 400, "malformed request line"),
        InvalidCase("no version", head("GET /", "Host: h"), 400, "malformed request line"),
        InvalidCase("no version after SP", head("GET / ", "Host: h"), 400, "invalid HTTP version"),
        InvalidCase("trailing space after version", head("GET / HTTP/1.1 ", "Host: h"), 400, "invalid HTTP version"),
        InvalidCase("tab in the target", head("GET /a\tb HTTP/1.1", "Host: h"), 400, "invalid request-target"),
        InvalidCase("UTF-8 in the target", head("GET /caf\u{E9} HTTP/1.1", "Host: h"), 400, "invalid request-target"),
        InvalidCase("DEL in the target", head("GET /\u{7F} HTTP/1.1", "Host: h"), 400, "invalid request-target"),
        InvalidCase("lowercase version", head("GET / http/1.1", "Host: h"), 400, "invalid HTTP version"),
        InvalidCase("HTTPS version", head("GET / HTTPS/1.1", "Host: h"), 400, "invalid HTTP version"),
        InvalidCase("two-digit minor", head("GET / HTTP/1.10", "Host: h"), 400, "invalid HTTP version"),
        InvalidCase("no minor", head("GET / HTTP/1", "Host: h"), 400, "invalid HTTP version"),
        InvalidCase("HTTP/2.0", head("GET / HTTP/2.0", "Host: h"), 505, "HTTP version not supported"),
        InvalidCase("HTTP/1.2", head("GET / HTTP/1.2", "Host: h"), 505, "HTTP version not supported"),
        InvalidCase("HTTP/0.9", head("GET / HTTP/0.9"), 505, "HTTP version not supported"),
        // RFC 9112 §3.2: target forms
        InvalidCase("asterisk-form with GET", head("GET * HTTP/1.1", "Host: h"), 400, "asterisk-form is only for OPTIONS"),
        InvalidCase("authority-form with GET", head("GET example.com:80 HTTP/1.1", "Host: h"), 400, "invalid request-target"),
        InvalidCase("CONNECT with origin-form", head("CONNECT / HTTP/1.1", "Host: h"), 400, "CONNECT requires authority-form"),
        InvalidCase("CONNECT without port", head("CONNECT example.com HTTP/1.1", "Host: h"), 400, "CONNECT requires authority-form"),
        InvalidCase("unsupported scheme", head("GET ftp://example.com/ HTTP/1.1", "Host: h"), 400, "invalid request-target"),
        InvalidCase("userinfo in absolute-form", head("GET http://u@example.com/ HTTP/1.1", "Host: h"), 400, "invalid authority in request-target"),
        InvalidCase("empty authority in absolute-form", head("GET http:///x HTTP/1.1", "Host: h"), 400, "invalid authority in request-target"),
        InvalidCase("fragment", head("GET /a#b HTTP/1.1", "Host: h"), 400, "fragment in request-target"),
        // RFC 9112 §3.2: Host
        InvalidCase("missing Host", head("GET / HTTP/1.1"), 400, "missing Host"),
        InvalidCase("absolute-form still needs Host in 1.1", head("GET http://example.com/ HTTP/1.1"), 400, "missing Host"),
        InvalidCase("absolute-form with an invalid Host", head("GET http://example.com/ HTTP/1.1", "Host: a b"), 400, "invalid Host"),
        InvalidCase("two Hosts", head("GET / HTTP/1.1", "Host: a", "Host: a"), 400, "duplicate Host"),
        InvalidCase("two Hosts in 1.0", head("GET / HTTP/1.0", "Host: a", "host: b"), 400, "duplicate Host"),
        InvalidCase("Host with space", head("GET / HTTP/1.1", "Host: a b"), 400, "invalid Host"),
        InvalidCase("Host with slash", head("GET / HTTP/1.1", "Host: a/b"), 400, "invalid Host"),
        InvalidCase("Host with userinfo", head("GET / HTTP/1.1", "Host: u@a"), 400, "invalid Host"),
        InvalidCase("Host with two ports", head("GET / HTTP/1.1", "Host: a:1:2"), 400, "invalid Host"),
        InvalidCase("Host with bad port", head("GET / HTTP/1.1", "Host: a:http"), 400, "invalid Host"),
        InvalidCase("Host with long port", head("GET / HTTP/1.1", "Host: a:123456"), 400, "invalid Host"),
        InvalidCase("Host with open bracket", head("GET / HTTP/1.1", "Host: [::1"), 400, "invalid Host"),
        InvalidCase("Host with only a port", head("GET / HTTP/1.1", "Host: :80"), 400, "invalid Host"),
        // RFC 9112 §2.2: CRLF only
        InvalidCase("bare LF after request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400, "bare LF"),
        InvalidCase("bare LF after a field", "GET / HTTP/1.1\r\nHost: h\n\r\n", 400, "bare LF"),
        InvalidCase("bare LF as the empty line", "GET / HTTP/1.1\r\nHost: h\r\n\n", 400, "bare LF"),
        InvalidCase("bare LF before the request", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bare LF"),
        InvalidCase("bare CR after request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400, "bare CR"),
        InvalidCase("bare CR in a value", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400, "bare CR"),
        InvalidCase("CR CR LF", "GET / HTTP/1.1\r\nHost: h\r\r\n\r\n", 400, "bare CR"),
        InvalidCase("bare CR in the empty line", "GET / HTTP/1.1\r\nHost: h\r\n\rX", 400, "bare CR"),
        InvalidCase("five leading CRLFs", "\r\n\r\n\r\n\r\n\r\n" + head("GET / HTTP/1.1", "Host: h"), 400, "too many empty lines before request"),
        // RFC 9112 §5: field lines
        InvalidCase("space before colon", head("GET / HTTP/1.1", "Host : h"), 400, "whitespace before colon"),
        InvalidCase("tab before colon", head("GET / HTTP/1.1", "Host: h", "X\t: y"), 400, "whitespace before colon"),
        InvalidCase("no colon", head("GET / HTTP/1.1", "Host: h", "Foo"), 400, "field line without colon"),
        InvalidCase("empty field name", head("GET / HTTP/1.1", "Host: h", ": y"), 400, "empty field name"),
        InvalidCase("non-token field name", head("GET / HTTP/1.1", "Host: h", "X(: y"), 400, "invalid field name"),
        InvalidCase("non-ASCII field name", head("GET / HTTP/1.1", "Host: h", "N\u{E4}me: y"), 400, "invalid field name"),
        InvalidCase("obs-fold", head("GET / HTTP/1.1", "Host: h", "X: a", " b"), 400, "obsolete line folding"),
        InvalidCase("obs-fold with tab", head("GET / HTTP/1.1", "Host: h", "X: a", "\tb"), 400, "obsolete line folding"),
        InvalidCase("whitespace before the first field", head("GET / HTTP/1.1", " Host: h"), 400, "obsolete line folding"),
        InvalidCase("NUL in a value", head("GET / HTTP/1.1", "Host: h", "X: a\u{0}b"), 400, "invalid character in field value"),
        InvalidCase("NUL starting a value", head("GET / HTTP/1.1", "Host: h", "X:\u{0}"), 400, "invalid character in field value"),
        InvalidCase("DEL in a value", head("GET / HTTP/1.1", "Host: h", "X: a\u{7F}"), 400, "invalid character in field value"),
        InvalidCase("DEL deep in a long value", head("GET / HTTP/1.1", "Host: h", "X: abcdefghijklm\u{7F}nopqrstuvw"), 400, "invalid character in field value"),
        InvalidCase("a control byte deep in a long value", head("GET / HTTP/1.1", "Host: h", "X: abcdefghijklm\u{1}nopqrstuvw"), 400, "invalid character in field value"),
        InvalidCase("a bare LF deep in a long value", head("GET / HTTP/1.1", "Host: h", "X: abcdefghijklm\nnopqrstuvw"), 400, "bare LF"),
        InvalidCase("vertical tab in a value", head("GET / HTTP/1.1", "Host: h", "X: a\u{B}b"), 400, "invalid character in field value"),
        InvalidCase("escape in a value", head("GET / HTTP/1.1", "Host: h", "X: \u{1B}[31m"), 400, "invalid character in field value"),
        // Limits
        InvalidCase(
            "request-target one byte too long",
            head("GET /" + String(repeating: "a", count: 32) + " HTTP/1.1", "Host: h"),
            414, "request-target too long",
            limits: smallLimits()
        ),
        InvalidCase(
            "request-target too long, head still incomplete",
            "GET /" + String(repeating: "a", count: 40),
            414, "request-target too long",
            limits: smallLimits()
        ),
        InvalidCase(
            "head one byte too large",
            head("GET / HTTP/1.1", "Host: example.com", "X: " + String(repeating: "v", count: 23)),
            431, "request head too large",
            limits: smallLimits(maxHeadSize: 64)
        ),
        InvalidCase(
            "incomplete head too large",
            "GET / HTTP/1.1\r\nHost: example.com\r\nX: " + String(repeating: "v", count: 60),
            431, "request head too large",
            limits: smallLimits(maxHeadSize: 64)
        ),
        InvalidCase(
            "head too large inside the request-target",
            "GET /" + String(repeating: "a", count: 100),
            431, "request head too large",
            limits: smallLimits(maxHeadSize: 64, maxRequestTargetLength: 1000)
        ),
        InvalidCase(
            "too many fields",
            head("GET / HTTP/1.1", "Host: example.com", "A: 1", "B: 2", "C: 3"),
            431, "too many header fields",
            limits: smallLimits(maxHeaderCount: 3)
        ),
        InvalidCase(
            "Content-Length above the body limit",
            head("POST / HTTP/1.1", "Host: h", "Content-Length: 65"),
            413, "request body too large",
            limits: smallLimits()
        ),
        InvalidCase(
            "huge Content-Length",
            head("POST / HTTP/1.1", "Host: h", "Content-Length: 999999999999999999"),
            413, "request body too large"
        ),
        InvalidCase(
            "unknown transfer coding before chunked",
            head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: gzip, chunked"),
            501, "unsupported transfer coding"
        ),
    ]

    @Test("invalid heads, whole and split at every byte", arguments: invalid)
    func invalidHead(_ row: InvalidCase) {
        row.check()
    }

    @Test("obs-text bytes in a value reach the field unchanged")
    func obsTextBytes() throws {
        var input = [UInt8]("GET / HTTP/1.1\r\nHost: h\r\nX: a")
        input += [0x80, 0xFF, 0xE9]
        input += [UInt8]("b\r\n\r\n")
        let outcome = parseEverySplit(input)
        let parsed = try #require(outcome.requests.first)
        let field = try #require(parsed.request.headerFields.first { $0.name.canonicalName == "x" })
        let bytes = field.withUnsafeBytesOfValue { Array($0) }
        #expect(bytes == [UInt8(ascii: "a"), 0x80, 0xFF, 0xE9, UInt8(ascii: "b")])
    }

    @Test("default limits")
    func defaultLimits() {
        let limits = HTTPParserLimits.default
        #expect(limits.maxHeadSize == 16 * 1024)
        #expect(limits.maxHeaderCount == 100)
        #expect(limits.maxRequestTargetLength == 8 * 1024)
        #expect(limits.maxBodySize == 1 << 20)
    }

    @Test("a head of default maximum size parses; one more byte is 431")
    func defaultHeadLimit() {
        let prefix = "GET / HTTP/1.1\r\nHost: h\r\nX: "
        let fill = 16 * 1024 - prefix.utf8.count - 4
        let fitting = [UInt8](prefix + String(repeating: "v", count: fill) + "\r\n\r\n")
        #expect(fitting.count == 16 * 1024)
        var parser = HTTPRequestParser()
        parser.receive(fitting)
        #expect((try? parser.nextEvent()) != nil)

        var tooLarge = HTTPRequestParser()
        tooLarge.receive([UInt8](prefix + String(repeating: "v", count: fill + 1) + "\r\n\r\n"))
        #expect(throws: HTTPRefusal(status: .requestHeaderFieldsTooLarge, reason: "request head too large")) {
            try tooLarge.nextEvent()
        }
    }
}
