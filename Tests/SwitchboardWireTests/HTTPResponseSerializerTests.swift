import HTTPTypes
import Testing

@testable import SwitchboardWire

@Suite("RFC 9112 §4: response head serialization")
struct HTTPResponseSerializerTests {
    private func serialize(_ response: HTTPResponse, prefix: [UInt8] = []) -> String {
        var buffer = prefix
        serializeResponseHead(response, into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    @Test("200 with fields, in order and with names as given")
    func okWithFields() {
        var fields = HTTPFields()
        fields[.contentType] = "text/plain; charset=utf-8"
        fields[.contentLength] = "5"
        fields.append(HTTPField(name: HTTPField.Name("x-Custom")!, value: "a, b"))
        let response = HTTPResponse(status: .ok, headerFields: fields)
        var buffer: [UInt8] = []
        serializeResponseHead(response, into: &buffer)
        let expected = [UInt8](
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\nx-Custom: a, b\r\n\r\n"
        )
        #expect(buffer == expected)
    }

    @Test("a custom reason phrase is written as given")
    func customReason() {
        let response = HTTPResponse(status: .init(code: 299, reasonPhrase: "Quite Fine"))
        #expect(serialize(response) == "HTTP/1.1 299 Quite Fine\r\n\r\n")
    }

    @Test("a Latin-1 reason phrase is written as ISO 8859-1 bytes")
    func latin1Reason() {
        var buffer: [UInt8] = []
        serializeResponseHead(HTTPResponse(status: .init(code: 200, reasonPhrase: "Tr\u{E8}s bien")), into: &buffer)
        #expect(buffer == [UInt8]("HTTP/1.1 200 Tr") + [0xE8] + [UInt8]("s bien\r\n\r\n"))
    }

    @Test("an empty reason phrase gets the standard one, or stays empty after the SP")
    func defaultReason() {
        #expect(serialize(HTTPResponse(status: 404)) == "HTTP/1.1 404 Not Found\r\n\r\n")
        #expect(serialize(HTTPResponse(status: 101)) == "HTTP/1.1 101 Switching Protocols\r\n\r\n")
        #expect(serialize(HTTPResponse(status: 431)) == "HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n")
        #expect(serialize(HTTPResponse(status: 599)) == "HTTP/1.1 599 \r\n\r\n")
    }

    @Test("the head is appended after existing bytes")
    func appends() {
        #expect(serialize(HTTPResponse(status: .noContent), prefix: [UInt8]("xyz")) == "xyzHTTP/1.1 204 No Content\r\n\r\n")
    }

    @Test("CR and LF cannot reach the output through values or reasons")
    func noResponseSplitting() {
        var fields = HTTPFields()
        fields[.location] = "/a\r\nSet-Cookie: evil=1"
        let response = HTTPResponse(status: .init(code: 302, reasonPhrase: "Found\r\nX: y"), headerFields: fields)
        let text = serialize(response)
        #expect(text.utf8.filter { $0 == 0x0A }.count == 3)
        #expect(text.hasPrefix("HTTP/1.1 302 Found  X: y\r\nLocation: /a  Set-Cookie: evil=1\r\n\r\n"))
    }

    @Test("parse errors serialize as their status")
    func errorStatus() {
        let error = HTTPRefusal(status: .uriTooLong, reason: "request-target too long")
        #expect(serialize(HTTPResponse(status: error.status)) == "HTTP/1.1 414 URI Too Long\r\n\r\n")
        #expect(error.description == "414 URI Too Long: request-target too long")
    }
}
