/// Base64 with the standard alphabet and padding (RFC 4648 §4), for the WebSocket handshake:
/// encoding `Sec-WebSocket-Accept` and strictly decoding `Sec-WebSocket-Key` (RFC 6455 §4.1,
/// §4.2.1).
enum Base64 {
    private static let alphabet: [UInt8] = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let padding = UInt8(ascii: "=")
    /// Marks a byte outside the alphabet in ``decodingTable``.
    private static let invalid: UInt8 = 0xFF

    /// The 6-bit value of each ASCII byte, or ``invalid``.
    private static let decodingTable: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(value) }
        return table
    }()

    /// The padded Base64 text of `bytes`.
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(alphabet[Int(group >> 18 & 0x3F)])
            output.append(alphabet[Int(group >> 12 & 0x3F)])
            output.append(second == nil ? padding : alphabet[Int(group >> 6 & 0x3F)])
            output.append(third == nil ? padding : alphabet[Int(group & 0x3F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Writes the padded Base64 text of `bytes` to the start of `output`
    /// (which holds at least `(bytes.count + 2) / 3 * 4` bytes); returns its length.
    static func encode(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        let length = (bytes.count + 2) / 3 * 4
        precondition(output.count >= length)
        var out = 0
        var index = 0
        alphabet.withUnsafeBufferPointer { alphabet in
            while index < bytes.count {
                let left = bytes.count - index
                let group = UInt32(bytes[index]) << 16 | UInt32(left > 1 ? bytes[index + 1] : 0) << 8
                    | UInt32(left > 2 ? bytes[index + 2] : 0)
                output[out] = alphabet[Int(group >> 18 & 0x3F)]
                output[out + 1] = alphabet[Int(group >> 12 & 0x3F)]
                output[out + 2] = left > 1 ? alphabet[Int(group >> 6 & 0x3F)] : padding
                output[out + 3] = left > 2 ? alphabet[Int(group & 0x3F)] : padding
                out += 4
                index += 3
            }
        }
        return length
    }

    /// How many bytes strictly valid Base64 text (see `decode`) stands for, or nil:
    /// the check without the decoded copy.
    static func decodedCount(_ text: UnsafeRawBufferPointer) -> Int? {
        guard text.count % 4 == 0 else { return nil }
        return decodingTable.withUnsafeBufferPointer { table -> Int? in
            var index = 0
            while index < text.count {
                let isLast = index + 4 == text.count
                guard table[Int(text[index])] != invalid else { return nil }
                let b = table[Int(text[index + 1])]
                guard b != invalid else { return nil }
                let c3 = text[index + 2]
                let c4 = text[index + 3]
                if isLast && c3 == padding {
                    guard c4 == padding, b & 0x0F == 0 else { return nil }
                    return text.count / 4 * 3 - 2
                } else if isLast && c4 == padding {
                    let c = table[Int(c3)]
                    guard c != invalid, c & 0x03 == 0 else { return nil }
                    return text.count / 4 * 3 - 1
                }
                guard table[Int(c3)] != invalid, table[Int(c4)] != invalid else { return nil }
                index += 4
            }
            return text.count / 4 * 3
        }
    }

    /// The bytes of strictly valid Base64 text, or nil.
    ///
    /// Strict means: a multiple of 4 characters, only the standard alphabet, `=` only as one or
    /// two final padding characters, no whitespace or line breaks (RFC 4648 §3.1, §3.3), and
    /// zero pad bits, so each byte string has exactly one accepted encoding (RFC 4648 §3.5).
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let a = decodingTable[Int(input[index])]
            let b = decodingTable[Int(input[index + 1])]
            guard a != invalid, b != invalid else { return nil }
            let c3 = input[index + 2]
            let c4 = input[index + 3]
            if isLast && c3 == padding {
                // "xx==": one byte; the low 4 bits of `b` are padding and must be 0.
                guard c4 == padding, b & 0x0F == 0 else { return nil }
                output.append(a << 2 | b >> 4)
            } else if isLast && c4 == padding {
                // "xxx=": two bytes; the low 2 bits of `c` must be 0.
                let c = decodingTable[Int(c3)]
                guard c != invalid, c & 0x03 == 0 else { return nil }
                output.append(a << 2 | b >> 4)
                output.append(b << 4 | c >> 2)
            } else {
                let c = decodingTable[Int(c3)]
                let d = decodingTable[Int(c4)]
                guard c != invalid, d != invalid else { return nil }
                output.append(a << 2 | b >> 4)
                output.append(b << 4 | c >> 2)
                output.append(c << 6 | d)
            }
            index += 4
        }
        return output
    }
}
