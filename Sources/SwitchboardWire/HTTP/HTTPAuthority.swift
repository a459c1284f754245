/// A plausibility check for `authority = host [ ":" port ]` (RFC 3986 §3.2, without userinfo
/// as RFC 9110 §4.2.4 asks), used for Host, absolute-form and CONNECT targets.
///
/// Not a full URI parser: it accepts an IP-literal in brackets made of hex digits, `:` and
/// `.`, or a reg-name / IPv4 address of unreserved, sub-delim and `%` characters, followed by
/// an optional port of at most five digits. Whitespace, `/`, `?`, `#`, `@` and other garbage
/// are rejected.
enum HTTPAuthority {
    static func isValid(_ bytes: UnsafeRawBufferPointer, requirePort: Bool) -> Bool {
        guard let first = bytes.first else { return false }
        var index = 0
        if first == HTTPSyntax.openBracket {
            index = 1
            while index < bytes.count, bytes[index] != HTTPSyntax.closeBracket {
                let byte = bytes[index]
                guard HTTPSyntax.hexValue(byte) != nil || byte == HTTPSyntax.colon || byte == UInt8(ascii: ".") else {
                    return false
                }
                index += 1
            }
            guard index < bytes.count, index > 1 else { return false }
            index += 1  // past "]"
        } else {
            while index < bytes.count, HTTPSyntax.isHostChar(bytes[index]) { index += 1 }
            guard index > 0 else { return false }
        }
        if index == bytes.count { return !requirePort }
        guard bytes[index] == HTTPSyntax.colon else { return false }
        let port = UnsafeRawBufferPointer(rebasing: bytes[(index + 1)...])
        guard port.count <= HTTPGrammarLimits.maxPortDigits, port.allSatisfy(HTTPSyntax.isDigit) else {
            return false
        }
        return !requirePort || !port.isEmpty
    }
}
