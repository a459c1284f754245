import Testing

@testable import SwitchboardWire

/// The bit-set byte classes against the RFC grammars spelled out.
@Suite("RFC 9110 §5.6.2, RFC 3986 §3.2.2: byte classes")
struct HTTPSyntaxTests {
    @Test("tchar matches RFC 9110 §5.6.2 for every byte")
    func tokenChars() {
        let symbols = Set("!#$%&'*+-.^_`|~".utf8)
        for byte in UInt8.min...UInt8.max {
            let expected = symbols.contains(byte) || (0x30...0x39).contains(byte)
                || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            #expect(HTTPSyntax.isTokenChar(byte) == expected, "byte \(byte)")
        }
    }

    @Test("host characters match unreserved / sub-delims / % for every byte")
    func hostChars() {
        let symbols = Set("-._~!$&'()*+,;=%".utf8)
        for byte in UInt8.min...UInt8.max {
            let expected = symbols.contains(byte) || (0x30...0x39).contains(byte)
                || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            #expect(HTTPSyntax.isHostChar(byte) == expected, "byte \(byte)")
        }
    }

    @Test("visible, field-visible and hex classes")
    func otherClasses() {
        for byte in UInt8.min...UInt8.max {
            #expect(HTTPSyntax.isVisible(byte) == (0x21...0x7E).contains(byte))
            #expect(HTTPSyntax.isFieldVisible(byte) == ((0x21...0x7E).contains(byte) || byte >= 0x80))
            let hex = Int(String(UnicodeScalar(byte)), radix: 16)
            #expect(HTTPSyntax.hexValue(byte).map(Int.init) == (byte < 0x80 ? hex : nil), "byte \(byte)")
        }
    }

    @Test("authority plausibility", arguments: [
        ("example.com", true), ("example.com:80", true), ("example.com:", true), ("127.0.0.1:8080", true),
        ("[::1]", true), ("[2001:db8::1]:443", true), ("xn--bcher-kva.example", true), ("a%20b", true),
        ("", false), (":80", false), ("a b", false), ("a/b", false), ("u@a", false), ("a?b", false),
        ("a#b", false), ("a:1:2", false), ("a:123456", false), ("[::1", false), ("[]", false),
        ("[::1]x", false), ("[g::1]", false), ("a\u{7F}", false),
    ])
    func authority(_ text: String, _ valid: Bool) {
        let bytes = [UInt8](text)
        bytes.withUnsafeBytes { #expect(HTTPAuthority.isValid($0, requirePort: false) == valid) }
    }
}
