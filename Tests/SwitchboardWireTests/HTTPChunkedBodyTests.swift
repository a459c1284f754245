import HTTPTypes
import Testing

@testable import SwitchboardWire

@Suite("RFC 9112 §7.1: chunked transfer coding")
struct HTTPChunkedBodyTests {
    static let chunkedHead = head("POST /upload HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked")

    struct BodyCase: Sendable, CustomTestStringConvertible {
        let name: String
        let chunked: String
        let body: String
        var testDescription: String { name }
        init(_ name: String, _ chunked: String, _ body: String) {
            self.name = name
            self.chunked = chunked
            self.body = body
        }
    }

    static let valid: [BodyCase] = [
        BodyCase("only the last chunk", "0\r\n\r\n", ""),
        BodyCase("one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"),
        BodyCase("several chunks", "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", "hello world"),
        BodyCase("hex sizes in either case", "a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n", "0123456789abcdefghijk"),
        BodyCase("leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"),
        BodyCase("sixteen digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello"),
        BodyCase("data containing CRLF", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"),
        BodyCase("extension without value", "5;foo\r\nhello\r\n0\r\n\r\n", "hello"),
        BodyCase("extension with token value", "5;foo=bar;baz\r\nhello\r\n0;last\r\n\r\n", "hello"),
        BodyCase("extension with quoted value", "5;a=\"x y;\\\"z\"\r\nhello\r\n0\r\n\r\n", "hello"),
        BodyCase("extension with BWS", "5 ; a = b \t; c\r\nhello\r\n0\r\n\r\n", "hello"),
        BodyCase("trailer fields are discarded", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nY:\r\n\r\n", "hello"),
    ]

    @Test("valid chunked bodies, whole and split at every byte", arguments: valid)
    func validBody(_ row: BodyCase) throws {
        let outcome = parseEverySplit([UInt8](Self.chunkedHead + row.chunked))
        #expect(outcome.error == nil)
        let parsed = try #require(outcome.requests.first)
        #expect(outcome.requests.count == 1)
        #expect(parsed.bodyText == row.body)
        #expect(parsed.request.headerFields[.transferEncoding] == "chunked")
    }

    static let invalid: [InvalidCase] = [
        InvalidCase("data longer than its size", chunkedHead + "3\r\nhello\r\n0\r\n\r\n", 400, "missing CRLF after chunk data"),
        InvalidCase("CR without LF after data", chunkedHead + "3\r\nabc\rX", 400, "missing CRLF after chunk data"),
        InvalidCase("LF without CR after data", chunkedHead + "3\r\nabc\n\r\n0\r\n\r\n", 400, "missing CRLF after chunk data"),
        InvalidCase("seventeen hex digits", chunkedHead + "00000000000000005\r\nhello\r\n0\r\n\r\n", 400, "chunk size too long"),
        InvalidCase("size overflowing UInt64", chunkedHead + "fffffffffffffffff\r\n", 400, "chunk size too long"),
        InvalidCase("empty size", chunkedHead + "\r\nhello\r\n", 400, "invalid chunk size"),
        InvalidCase("non-hex size", chunkedHead + "g\r\n", 400, "invalid chunk size"),
        InvalidCase("negative size", chunkedHead + "-1\r\n", 400, "invalid chunk size"),
        InvalidCase("0x prefix", chunkedHead + "0x5\r\nhello\r\n", 400, "invalid chunk size"),
        InvalidCase("whitespace after size without extension", chunkedHead + "5 \r\nhello\r\n", 400, "invalid chunk size"),
        InvalidCase("bare LF after size", chunkedHead + "5\nhello\r\n0\r\n\r\n", 400, "bare LF"),
        InvalidCase("bare CR after size", chunkedHead + "5\rhello\r\n0\r\n\r\n", 400, "bare CR"),
        InvalidCase("empty extension name", chunkedHead + "5;=x\r\nhello\r\n", 400, "invalid chunk extension"),
        InvalidCase("extension value missing", chunkedHead + "5;a=\r\nhello\r\n", 400, "invalid chunk extension"),
        InvalidCase("LF inside a quoted extension", chunkedHead + "5;a=\"x\ny\"\r\nhello\r\n", 400, "bare LF"),
        InvalidCase("CR inside a quoted extension", chunkedHead + "5;a=\"x\ry\"\r\nhello\r\n", 400, "invalid chunk extension"),
        InvalidCase("NUL in an extension", chunkedHead + "5;a\u{0}\r\nhello\r\n", 400, "invalid chunk extension"),
        InvalidCase(
            "chunk line too long",
            chunkedHead + "5;a=" + String(repeating: "x", count: 4 * 1024) + "\r\nhello\r\n0\r\n\r\n",
            400, "chunk line too long"
        ),
        InvalidCase(
            "body above the limit",
            chunkedHead + "20\r\n" + String(repeating: "a", count: 32) + "\r\n21\r\n" + String(repeating: "b", count: 33) + "\r\n0\r\n\r\n",
            413, "request body too large",
            limits: smallLimits()
        ),
        InvalidCase("one chunk above the limit", chunkedHead + "41\r\n", 413, "request body too large", limits: smallLimits()),
        InvalidCase("huge chunk", chunkedHead + "ffffffffffffffff\r\n", 413, "request body too large"),
        InvalidCase("obs-fold in trailers", chunkedHead + "0\r\nX: a\r\n b\r\n\r\n", 400, "obsolete line folding"),
        InvalidCase("bare LF in trailers", chunkedHead + "0\r\nX: a\n\r\n", 400, "bare LF"),
        InvalidCase("space before colon in trailers", chunkedHead + "0\r\nX : a\r\n\r\n", 400, "whitespace before colon"),
        InvalidCase(
            "trailers too large",
            chunkedHead + "0\r\nX: " + String(repeating: "t", count: 300) + "\r\n\r\n",
            431, "trailer section too large",
            limits: smallLimits()
        ),
        InvalidCase(
            "too many trailer fields",
            chunkedHead + "0\r\n" + (1...9).map { "T\($0): x\r\n" }.joined() + "\r\n",
            431, "too many header fields",
            limits: smallLimits()
        ),
    ]

    @Test("invalid chunked bodies, whole and split at every byte", arguments: invalid)
    func invalidBody(_ row: InvalidCase) {
        row.check()
    }

    @Test("a body exactly at the limit, across chunks")
    func bodyAtLimit() {
        let input = Self.chunkedHead + "20\r\n" + String(repeating: "a", count: 32) + "\r\n20\r\n"
            + String(repeating: "b", count: 32) + "\r\n0\r\n\r\n"
        let outcome = parseEverySplit([UInt8](input), limits: smallLimits())
        #expect(outcome.error == nil)
        #expect(outcome.requests.first?.body.count == 64)
    }
}
