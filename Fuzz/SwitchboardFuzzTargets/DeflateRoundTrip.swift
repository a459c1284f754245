import SwitchboardDeflate

/// Every message the session delivered, compressed and inflated again
/// with SwitchboardDeflate's pair, comes back unchanged, with or without
/// context takeover, and fits a limit of exactly its own size.
enum DeflateRoundTrip {
    static func check(_ messages: [[UInt8]], options: WebSocketSessionOptions) throws(PropertyViolation) {
        guard !messages.isEmpty else { return }
        let compressor: DeflateCompressor
        do {
            compressor = try DeflateCompressor(windowBits: options.smallWindow ? 9 : 15, contextTakeover: options.contextTakeover)
        } catch {
            throw PropertyViolation("no compressor: \(error)")
        }
        let decompressor = try InflateChecks.makeDecompressor(contextTakeover: options.contextTakeover)
        for message in messages {
            var compressed: [UInt8] = []
            message.withUnsafeBytes { compressor.compress($0, appendingTo: &compressed) }
            let inflated = InflateChecks.inflate(compressed, with: decompressor, limit: message.count)
            try require(inflated == .success(message), "a \(message.count)-byte message came back as \(inflated)")
        }
    }
}
