import SwitchboardWire

/// permessage-deflate (RFC 7692) for one WebSocket route:
/// `WebSocketConfiguration(compression: .perMessageDeflate)`.
///
/// Off by default. Compression trades CPU for bandwidth, and most
/// real-time messages are small: a 100-byte JSON event saves a few dozen
/// bytes at a CPU cost many times that of sending it (see the README's
/// figures). It also mixes data under one compressor, which leaks
/// information when secrets and attacker-chosen text share a message
/// (the CRIME/BREACH family). Turn it on for routes that send large or
/// repetitive messages to clients on slow links.
///
/// With the default, no context takeover either way, every message is
/// compressed on its own: a loop's connections share one compressor and
/// one decompressor, an idle connection costs no zlib memory at all, and a
/// published message is compressed once for all of its subscribers. With
/// `contextTakeover` each connection keeps its own zlib streams (better
/// ratios for streams of similar messages). zlib reserves
/// `2^(windowBits+2) + 2^(memoryLevel+9)` bytes for its compressor plus
/// `2^windowBits` + ~7 KiB for its decompressor: about 300 KiB at 15/8
/// (about 100 KB of it resident per connection once both sides have sent
/// a small message, measured by `Benchmarks/deflate-memory.py`), about
/// 26 KiB at 10/4.
public struct WebSocketCompression: Sendable, Hashable {
    /// Messages shorter than this many bytes are sent uncompressed
    /// (RFC 7692 lets each message choose). Default 128.
    public var minimumSize: Int
    /// Keep each side's compression window from one message to the next.
    /// Default false (see the type's notes on memory).
    public var contextTakeover: Bool
    /// zlib compression level, 1 (fastest) to 9 (smallest). Default 6.
    public var level: Int
    /// The server's window, 9...15 bits. Default 15. Matters for memory
    /// only with `contextTakeover`.
    public var windowBits: Int
    /// zlib's memory level, 1...9. Default 8.
    public var memoryLevel: Int

    /// The defaults above.
    public static let perMessageDeflate = WebSocketCompression()

    public init(minimumSize: Int = 128, contextTakeover: Bool = false, level: Int = 6, windowBits: Int = 15, memoryLevel: Int = 8) {
        precondition((9...15).contains(windowBits), "windowBits must be 9...15")
        precondition((1...9).contains(level), "level must be 1...9")
        precondition((1...9).contains(memoryLevel), "memoryLevel must be 1...9")
        self.minimumSize = minimumSize
        self.contextTakeover = contextTakeover
        self.level = level
        self.windowBits = windowBits
        self.memoryLevel = memoryLevel
    }

    /// What the handshake asks for.
    var policy: PerMessageDeflatePolicy {
        PerMessageDeflatePolicy(
            serverNoContextTakeover: !contextTakeover,
            clientNoContextTakeover: !contextTakeover,
            serverMaxWindowBits: contextTakeover ? windowBits : 15,
            clientMaxWindowBits: contextTakeover ? windowBits : 15
        )
    }
}
