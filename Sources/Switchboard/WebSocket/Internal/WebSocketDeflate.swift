import SwitchboardDeflate
import SwitchboardIO
import SwitchboardWire
import Synchronization

/// One connection's permessage-deflate: what the handshake agreed, packed
/// into a few bytes inside the connection, and the connection's own zlib
/// streams for a side that keeps its context. A side without context
/// takeover uses its loop's shared stream (``LoopDeflate``), so such a
/// connection costs 16 bytes and no zlib memory. Loop-confined.
struct ConnectionDeflate {
    /// Only when a side keeps its context; shared by copies of this value.
    private let own: OwnDeflateStreams?
    private let serverNoContextTakeover: Bool
    private let clientNoContextTakeover: Bool
    /// The window the server compresses with; below 9, nothing is
    /// compressed: zlib's raw deflate has no 8-bit window, and RFC 7692
    /// lets any message go uncompressed.
    private let serverWindowBits: UInt8
    private let clientWindowBits: UInt8

    init(agreement: PerMessageDeflateAgreement, settings: WebSocketCompression) {
        serverNoContextTakeover = agreement.serverNoContextTakeover
        clientNoContextTakeover = agreement.clientNoContextTakeover
        serverWindowBits = UInt8(min(agreement.serverMaxWindowBits, agreement.serverNoContextTakeover ? 15 : settings.windowBits))
        clientWindowBits = UInt8(agreement.clientMaxWindowBits)
        let keepsContext = !agreement.serverNoContextTakeover || !agreement.clientNoContextTakeover
        own = keepsContext ? OwnDeflateStreams() : nil
    }

    /// Whether a message of `size` payload bytes is worth compressing.
    func compresses(_ size: Int, _ settings: WebSocketCompression) -> Bool {
        size >= settings.minimumSize && serverWindowBits >= 9
    }

    /// Whether this connection can take the compressed frame a publish
    /// shares among its subscribers (made without context, 15-bit window).
    var takesSharedFrames: Bool { serverNoContextTakeover && serverWindowBits == 15 }

    func compressor(_ shared: LoopDeflate, _ settings: WebSocketCompression) -> DeflateCompressor? {
        guard serverWindowBits >= 9 else { return nil }
        guard let own, !serverNoContextTakeover else {
            return shared.compressor(windowBits: Int(serverWindowBits), settings: settings)
        }
        if own.compressor == nil {
            own.compressor = try? DeflateCompressor(
                windowBits: Int(serverWindowBits), level: settings.level, memoryLevel: settings.memoryLevel, contextTakeover: true
            )
        }
        return own.compressor
    }

    func decompressor(_ shared: LoopDeflate) -> DeflateDecompressor? {
        guard let own, !clientNoContextTakeover else { return shared.decompressor }
        if own.decompressor == nil {
            own.decompressor = try? DeflateDecompressor(windowBits: Int(clientWindowBits), contextTakeover: true)
        }
        return own.decompressor
    }
}

/// A connection's own zlib streams, each made on first use.
final class OwnDeflateStreams {
    var compressor: DeflateCompressor?
    var decompressor: DeflateDecompressor?
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
