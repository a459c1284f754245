import HTTPTypes
import Testing

@testable import SwitchboardWire

/// Shapes used to make a front end and this server disagree on where a request ends
/// (RFC 9112 §6.3, §11.2). Each must be rejected, never guessed.
@Suite("RFC 9112 §6.3, §11.2: request smuggling")
struct HTTPSmugglingTests {
    static let cases: [InvalidCase] = [
        InvalidCase(
            "Content-Length then Transfer-Encoding",
            head("POST / HTTP/1.1", "Host: h", "Content-Length: 4", "Transfer-Encoding: chunked") + "0\r\n\r\n",
            400, "Content-Length with Transfer-Encoding"
        ),
        InvalidCase(
            "Transfer-Encoding then Content-Length",
            head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: chunked", "Content-Length: 4") + "0\r\n\r\n",
            400, "Content-Length with Transfer-Encoding"
        ),
        InvalidCase(
            "duplicate Content-Length, equal values",
            head("POST / HTTP/1.1", "Host: h", "Content-Length: 3", "Content-Length: 3") + "abc",
            400, "duplicate Content-Length"
        ),
        InvalidCase(
            "duplicate Content-Length, different values",
            head("POST / HTTP/1.1", "Host: h", "Content-Length: 3", "content-length: 5") + "abcde",
            400, "duplicate Content-Length"
        ),
        InvalidCase("Content-Length list", head("POST / HTTP/1.1", "Host: h", "Content-Length: 3, 3"), 400, "invalid Content-Length"),
        InvalidCase("Content-Length with plus", head("POST / HTTP/1.1", "Host: h", "Content-Length: +3"), 400, "invalid Content-Length"),
        InvalidCase("Content-Length with minus", head("POST / HTTP/1.1", "Host: h", "Content-Length: -3"), 400, "invalid Content-Length"),
        InvalidCase("Content-Length with inner space", head("POST / HTTP/1.1", "Host: h", "Content-Length: 1 2"), 400, "invalid Content-Length"),
        InvalidCase("Content-Length in hex", head("POST / HTTP/1.1", "Host: h", "Content-Length: 0x10"), 400, "invalid Content-Length"),
        InvalidCase("Content-Length empty", head("POST / HTTP/1.1", "Host: h", "Content-Length:"), 400, "invalid Content-Length"),
        InvalidCase(
            "Content-Length of 19 digits",
            head("POST / HTTP/1.1", "Host: h", "Content-Length: 0000000000000000001"),
            400, "invalid Content-Length"
        ),
        InvalidCase(
            "Content-Length overflowing Int64",
            head("POST / HTTP/1.1", "Host: h", "Content-Length: 99999999999999999999"),
            400, "invalid Content-Length"
        ),
        InvalidCase(
            "chunked twice in one field",
            head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: chunked, chunked") + "0\r\n\r\n",
            400, "chunked applied more than once"
        ),
        InvalidCase(
            "chunked twice in two fields",
            head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked") + "0\r\n\r\n",
            400, "chunked applied more than once"
        ),
        InvalidCase(
            "chunked not last",
            head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: chunked, gzip"),
            400, "final transfer coding is not chunked"
        ),
        InvalidCase(
            "chunked not last across fields",
            head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: chunked", "Transfer-Encoding: identity"),
            400, "final transfer coding is not chunked"
        ),
        InvalidCase("identity only", head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: identity"), 400, "final transfer coding is not chunked"),
        InvalidCase("look-alike coding", head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: xchunked"), 400, "final transfer coding is not chunked"),
        InvalidCase("empty Transfer-Encoding", head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding:"), 400, "final transfer coding is not chunked"),
        InvalidCase("chunked with a parameter", head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: chunked;x=1"), 400, "invalid Transfer-Encoding"),
        InvalidCase("coding with inner space", head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: chun ked"), 400, "invalid Transfer-Encoding"),
        InvalidCase(
            "quoted coding",
            head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: \"chunked\""),
            400, "invalid Transfer-Encoding"
        ),
        InvalidCase(
            "Transfer-Encoding in HTTP/1.0",
            head("POST / HTTP/1.0", "Transfer-Encoding: chunked") + "0\r\n\r\n",
            400, "Transfer-Encoding in HTTP/1.0"
        ),
        InvalidCase(
            "gzip before chunked",
            head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked"),
            501, "unsupported transfer coding"
        ),
        InvalidCase(
            "space before the colon of Transfer-Encoding",
            head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding : chunked") + "0\r\n\r\n",
            400, "whitespace before colon"
        ),
        InvalidCase(
            "obs-fold hiding chunked",
            head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: identity", " chunked") + "0\r\n\r\n",
            400, "obsolete line folding"
        ),
        InvalidCase(
            "bare LF ending Transfer-Encoding",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\nContent-Length: 3\r\n\r\nabc",
            400, "bare LF"
        ),
        InvalidCase(
            "bare CR inside a field",
            "POST / HTTP/1.1\r\nHost: h\r\nX: a\rTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400, "bare CR"
        ),
        InvalidCase(
            "NUL in Content-Length",
            head("POST / HTTP/1.1", "Host: h", "Content-Length: 3\u{0}") + "abc",
            400, "invalid character in field value"
        ),
        InvalidCase(
            "vertical tab before Transfer-Encoding",
            head("POST / HTTP/1.1", "Host: h", "\u{B}Transfer-Encoding: chunked") + "0\r\n\r\n",
            400, "invalid field name"
        ),
        InvalidCase(
            "chunked body with a bare LF after the data",
            head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: chunked") + "3\r\nabc\n0\r\n\r\n",
            400, "missing CRLF after chunk data"
        ),
    ]

    @Test("smuggling shapes are rejected, whole and split at every byte", arguments: cases)
    func smuggling(_ row: InvalidCase) {
        row.check()
    }

    @Test("equivalent spellings of chunked are accepted", arguments: [
        "Transfer-Encoding: Chunked",
        "Transfer-Encoding: , chunked",
        "transfer-encoding:\tCHUNKED\t",
    ])
    func chunkedSpellings(_ line: String) {
        let outcome = parseEverySplit([UInt8](head("POST / HTTP/1.1", "Host: h", line) + "3\r\nabc\r\n0\r\n\r\n"))
        #expect(outcome.error == nil)
        #expect(outcome.requests.map(\.bodyText) == ["abc"])
    }

    @Test("a request after a smuggling attempt is never parsed")
    func nothingAfterRejection() {
        let input = [UInt8](
            head("POST / HTTP/1.1", "Host: h", "Content-Length: 6", "Transfer-Encoding: chunked")
                + "0\r\n\r\n" + head("GET /admin HTTP/1.1", "Host: h")
        )
        let outcome = parseEverySplit(input)
        #expect(outcome.requests.isEmpty)
        #expect(outcome.error?.status == .badRequest)
    }
}
