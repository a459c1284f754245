/// `%XX` escapes (RFC 3986 §2.1), for request paths and queries and for
/// the credentials of a Redis URL.
package enum PercentDecoding {
    /// The bytes `text` stands for, or nil when a `%` is not followed by two
    /// hex digits. `plusIsSpace`: `+` is a space, as in form-encoded queries.
    package static func bytes(_ text: Substring, plusIsSpace: Bool = false) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(HTTPSyntax.hexValue), let low = iterator.next().flatMap(HTTPSyntax.hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return bytes
    }
}
