import Testing

@testable import SwitchboardWire

/// Text messages at the session: RFC 6455 §8.1 asks to fail with 1007 as soon as the text
/// cannot be UTF-8, even across fragments.
@Suite("RFC 6455 §5.6, §8.1: text messages are UTF-8")
struct WebSocketTextValidationTests {
    static let invalidSingleFrames: [UTF8Case] = cases.filter { $0.failsAt != nil }
    static let cases = UTF8ValidatorTests.cases

    @Test("invalid text in one frame fails with 1007", arguments: invalidSingleFrames)
    func invalidText(_ row: UTF8Case) {
        ViolationCase(row.name, clientFrame(.text, row.bytes), 1007, "invalid UTF-8 in text message").check()
    }

    @Test("valid text in one frame is delivered", arguments: cases.filter { $0.failsAt == nil })
    func validText(_ row: UTF8Case) {
        #expect(runEverySplit(clientFrame(.text, row.bytes)).events == [.message(.text, row.bytes, compressed: false)])
    }

    @Test("code points split across fragments at every point are valid")
    func splitCodePoints() {
        let text = Array("€𝄞ß".utf8)
        for cut in 0...text.count {
            let input =
                clientFrame(.text, Array(text[..<cut]), fin: false) + clientFrame(.ping)
                + clientFrame(.continuation, Array(text[cut...]))
            #expect(
                runEverySplit(input).events == [.ping([]), .message(.text, text, compressed: false)], "cut at \(cut)")
        }
    }

    @Test("invalid sequences split across fragments fail with 1007")
    func splitInvalid() {
        let sequences: [[UInt8]] = [
            [0xE2, 0x28, 0xA1], [0xF0, 0x9D, 0x84, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
        ]
        for bytes in sequences {
            for cut in 1..<bytes.count {
                let input =
                    clientFrame(.text, Array(bytes[..<cut]), fin: false)
                    + clientFrame(.continuation, Array(bytes[cut...]))
                ViolationCase("\(bytes) cut at \(cut)", input, 1007, "invalid UTF-8 in text message").check()
            }
        }
    }

    @Test("a message ending inside a code point fails with 1007, single or fragmented")
    func incompleteAtEnd() {
        ViolationCase("", clientFrame(.text, [0x61, 0xE2, 0x82]), 1007, "invalid UTF-8 in text message").check()
        let fragmented =
            clientFrame(.text, [0xE2], fin: false) + clientFrame(.continuation, [0x82], fin: false)
            + clientFrame(.continuation, [])
        ViolationCase("", fragmented, 1007, "invalid UTF-8 in text message").check()
    }

    @Test("an invalid prefix in the first of three fragments fails before the rest arrives")
    func failFast() {
        let first = clientFrame(.text, [0x61, 0xC0, 0x80, 0x62], fin: false)
        // Only the first fragment is ever sent, split at every byte: it is enough to fail.
        ViolationCase("first fragment only", first, 1007, "invalid UTF-8 in text message").check()
        // Only its header and the first two payload bytes: the C0 already fails.
        ViolationCase("up to the bad byte", Array(first.prefix(6 + 2)), 1007, "invalid UTF-8 in text message").check()
        // The whole message gives the same single failure.
        let all = first + clientFrame(.continuation, text: "more", fin: false) + clientFrame(.continuation, text: "end")
        ViolationCase("all three fragments", all, 1007, "invalid UTF-8 in text message").check()
    }

    @Test("binary messages are not validated")
    func binaryNotValidated() {
        #expect(runEverySplit(clientFrame(.binary, [0xC0, 0x80, 0xFF])).events == [binaryMessage([0xC0, 0x80, 0xFF])])
    }

    @Test("a valid message after a partial one resets the validator")
    func validatorReset() {
        let input = clientFrame(.text, [0xE2, 0x82, 0xAC]) + clientFrame(.text, text: "a")
        #expect(runEverySplit(input).events == [textMessage("€"), textMessage("a")])
    }
}
