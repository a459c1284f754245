import SwitchboardDeflate
import SwitchboardIO
import SwitchboardWire
import Synchronization

/// One connection's permessage-deflate: what the handshake agreed, and the
/// connection's own zlib streams for a side that keeps its context. A side
/// without context takeover uses its loop's shared stream
/// (``LoopDeflate``), so such connections hold no zlib memory.
/// Loop-confined.
final class ConnectionDeflate {
    let agreement: PerMessageDeflateAgreement
    let settings: WebSocketCompression
    private var ownCompressor: DeflateCompressor?
    private var ownDecompressor: DeflateDecompressor?

    init(agreement: PerMessageDeflateAgreement, settings: WebSocketCompression) {
        self.agreement = agreement
        self.settings = settings
    }

    /// The window the server compresses with, or nil when it sends
    /// everything uncompressed: the client allowed 8 bits, which zlib's
    /// raw deflate cannot do (RFC 7692 lets any message go uncompressed).
    var compressionWindowBits: Int? {
        let bits = min(agreement.serverMaxWindowBits, agreement.serverNoContextTakeover ? 15 : settings.windowBits)
        return bits >= 9 ? bits : nil
    }

    /// Whether a message of `size` payload bytes is worth compressing.
    func compresses(_ size: Int) -> Bool {
        size >= settings.minimumSize && compressionWindowBits != nil
    }

    /// Whether this connection can take the compressed frame a publish
    /// shares among its subscribers (made without context, 15-bit window).
    var takesSharedFrames: Bool {
        agreement.serverNoContextTakeover && compressionWindowBits == 15
    }

    func compressor(_ shared: LoopDeflate) -> DeflateCompressor? {
        guard let bits = compressionWindowBits else { return nil }
        if agreement.serverNoContextTakeover {
            return shared.compressor(windowBits: bits, settings: settings)
        }
        if ownCompressor == nil {
            ownCompressor = try? DeflateCompressor(
                windowBits: bits, level: settings.level, memoryLevel: settings.memoryLevel, contextTakeover: true
            )
        }
        return ownCompressor
    }

    func decompressor(_ shared: LoopDeflate) -> DeflateDecompressor? {
        if agreement.clientNoContextTakeover { return shared.decompressor }
        if ownDecompressor == nil {
            ownDecompressor = try? DeflateDecompressor(windowBits: agreement.clientMaxWindowBits, contextTakeover: true)
        }
        return ownDecompressor
    }
}

/// The zlib streams one loop's connections share for messages compressed
/// without context: one decompressor, one compressor per window and level
/// in use, and one output buffer. Loop-confined.
final class LoopDeflate {
    private struct Key: Hashable {
        var windowBits: Int
        var level: Int
        var memoryLevel: Int
    }

    private var compressors: [Key: DeflateCompressor] = [:]
    private(set) lazy var decompressor: DeflateDecompressor? = try? DeflateDecompressor(windowBits: 15, contextTakeover: false)
    /// Compressed bytes land here before their frame is written.
    private var output: [UInt8] = []
    /// Messages compressed and inflated on this loop (tests check that a
    /// publish is compressed once, not once per subscriber, and that a
    /// browser's messages really arrived compressed).
    let compressions = Atomic<Int>(0)
    let inflations = Atomic<Int>(0)

    func compressor(windowBits: Int, settings: WebSocketCompression) -> DeflateCompressor? {
        let key = Key(windowBits: windowBits, level: settings.level, memoryLevel: settings.memoryLevel)
        if let compressor = compressors[key] { return compressor }
        let compressor = try? DeflateCompressor(
            windowBits: windowBits, level: settings.level, memoryLevel: settings.memoryLevel, contextTakeover: false
        )
        compressors[key] = compressor
        return compressor
    }

    /// Compresses `payload` with `compressor` and passes the result to
    /// `body`, or nil when the message did not shrink and may go plain
    /// (only without context takeover: otherwise the client's window must
    /// see exactly what the compressor saw).
    func compress<R>(_ payload: UnsafeRawBufferPointer, with compressor: DeflateCompressor, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        var bytes: [UInt8] = []
        swap(&bytes, &output)
        bytes.removeAll(keepingCapacity: true)
        compressor.compress(payload, appendingTo: &bytes)
        compressions.add(1, ordering: .relaxed)
        defer {
            // Keep a moderate buffer for the next message, not the largest ever seen.
            if bytes.capacity <= Self.retainedOutputCapacity { swap(&bytes, &output) }
        }
        if !compressor.contextTakeover && bytes.count >= payload.count { return body(nil) }
        return bytes.withUnsafeBytes { body($0) }
    }

    static let retainedOutputCapacity = 256 * 1024
}
