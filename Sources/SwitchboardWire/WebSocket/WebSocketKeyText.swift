/// A `Sec-WebSocket-Key` as sent, kept inline when it has the length of
/// every valid key (24 Base64 characters encoding 16 bytes, RFC 6455 §4.1):
/// the handshake hashes its bytes and never needs a `String`, which at 24
/// bytes would be a heap allocation per upgrade. Any other text (a key set
/// by an application, or one about to be refused) is kept as a `String`.
struct WebSocketKeyText: Sendable {
    private enum Storage: Sendable {
        case inline(UInt64, UInt64, UInt64)
        case string(String)
    }
    private var storage: Storage

    static let inlineLength = 24

    init(_ string: String) {
        storage = .string(string)
    }

    init(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.inlineLength else {
            storage = .string(HTTPSyntax.string(bytes))
            return
        }
        storage = .inline(
            bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
    }

    var string: String {
        withBytes { HTTPSyntax.string($0) }
    }

    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        switch storage {
        case .inline(let first, let second, let third):
            var words = (first, second, third)
            return withUnsafeBytes(of: &words) { body($0) }
        case .string(var string):
            return string.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
    }
}
