import SwitchboardDeflate
import SwitchboardWire

/// The connection's inflate step for compressed messages (RFC 7692
/// §7.2.2), done as `WebSocketConnection` does it: one decompressor per
/// connection, the message size limit as the inflate limit.
///
/// Whatever the bytes: a result never exceeds the limit, a smaller limit
/// never turns a failure into a success, and after a failure the
/// decompressor still inflates a good message.
enum InflateChecks {
    static func check(_ messages: [[UInt8]], options: WebSocketSessionOptions) throws(PropertyViolation) {
        guard !messages.isEmpty else { return }
        let limit = options.maxMessageSize
        let decompressor = try makeDecompressor(contextTakeover: options.contextTakeover)
        for message in messages {
            let outcome = inflate(message, with: decompressor, limit: limit)
            if case .success(let bytes) = outcome {
                try require(bytes.count <= limit, "inflated \(bytes.count) bytes past the \(limit)-byte limit")
            }
            if !options.contextTakeover && limit < Int.max / 4 {
                // Each message stands alone: the same bytes under a larger limit agree.
                let larger = inflate(message, with: try makeDecompressor(contextTakeover: false), limit: limit * 2 + 4096)
                try checkLargerLimit(outcome, larger, limit: limit)
            }
            if case .failure = outcome {
                let recovered = inflate(helloMessage, with: decompressor, limit: limit)
                try require(recovered == .success(Array("Hello".utf8)), "after a failure a good message gave \(recovered)")
            }
        }
    }

    /// What `limit` decided must not change under a larger one, except that
    /// a message over `limit` may now fit or reach its corrupt part.
    private static func checkLargerLimit(
        _ outcome: Result<[UInt8], DeflateError>,
        _ larger: Result<[UInt8], DeflateError>,
        limit: Int
    ) throws(PropertyViolation) {
        switch outcome {
        case .success:
            try require(larger == outcome, "a larger limit changed \(outcome) into \(larger)")
        case .failure(.corrupt):
            try require(larger == outcome, "a larger limit changed corrupt data into \(larger)")
        case .failure(.tooLarge):
            if case .success(let bytes) = larger {
                try require(bytes.count > limit, "refused as too large, yet only \(bytes.count) bytes")
            }
        case .failure(.invalidParameters):
            throw PropertyViolation("inflating reported invalid parameters")
        }
    }

    /// "Hello" compressed as a whole message without context: RFC 7692
    /// §7.2.3.1's example, written by hand rather than by the code under test.
    static let helloMessage: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]

    static func makeDecompressor(contextTakeover: Bool) throws(PropertyViolation) -> DeflateDecompressor {
        do {
            return try DeflateDecompressor(windowBits: 15, contextTakeover: contextTakeover)
        } catch {
            throw PropertyViolation("no decompressor: \(error)")
        }
    }

    static func inflate(_ message: [UInt8], with decompressor: DeflateDecompressor, limit: Int) -> Result<[UInt8], DeflateError> {
        message.withUnsafeBytes { bytes in
            Result { () throws(DeflateError) in try decompressor.decompress(bytes, limit: limit) }
        }
    }
}
