internal import CZlib

/// Compresses WebSocket messages for permessage-deflate (RFC 7692 §7.2.1)
/// with zlib's raw deflate.
///
/// Each message is deflated and flushed with `Z_SYNC_FLUSH`, and the
/// flush's trailing empty block (`00 00 FF FF`) is removed, as the RFC
/// asks. Without context takeover the stream is reset after every message,
/// so each message decodes on its own: that is what lets one compressed
/// copy of a published message go to many subscribers.
///
/// Memory (zlib's own figures): `2^(windowBits+2) + 2^(memoryLevel+9)`
/// bytes while the stream exists, 256 KiB at the defaults. Not thread-safe:
/// it belongs to one loop, or to one connection on its loop.
public final class DeflateCompressor {
    /// The LZ77 window, 2^windowBits bytes (9...15; zlib cannot make raw
    /// deflate with an 8-bit window).
    public let windowBits: Int
    /// Whether the window carries over from one message to the next.
    public let contextTakeover: Bool
    private let stream: UnsafeMutablePointer<z_stream>

    public init(windowBits: Int = 15, level: Int = 6, memoryLevel: Int = 8, contextTakeover: Bool) throws(DeflateError) {
        guard (9...15).contains(windowBits), (0...9).contains(level), (1...9).contains(memoryLevel) else {
            throw .invalidParameters
        }
        self.windowBits = windowBits
        self.contextTakeover = contextTakeover
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard switchboard_deflate_init(stream, Int32(level), Int32(windowBits), Int32(memoryLevel)) == Z_OK else {
            stream.deallocate()
            throw .invalidParameters
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `input` as one whole message and appends the result to
    /// `output` (what goes in the frame, tail already removed).
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
            scratch.releaseIfLarge()
        }
        // Deflate rarely grows data by more than a few bytes per block; the
        // first guess usually holds, and the loop grows the room if not.
        var produced = 0
        var room = min(input.count / 2 + 64, Int(uInt.max))
        while true {
            scratch.grow(to: produced + room, keeping: produced)
            stream.pointee.next_out = (scratch.bytes.baseAddress! + produced).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(room)
            // Z_SYNC_FLUSH never fails with a valid stream and room to write.
            _ = deflate(stream, Z_SYNC_FLUSH)
            let left = Int(stream.pointee.avail_out)
            produced += room - left
            // Room left over means the flush is complete (zlib: call again
            // only while it fills all of the output space).
            if left > 0 { break }
            room = min(max(room, 1024) * 2, Int(uInt.max))
        }
        // RFC 7692 §7.2.1: remove the 4 octets 0x00 0x00 0xff 0xff at the tail.
        if produced >= 4, scratch.prefix(produced).suffix(4).elementsEqual(Self.flushTail) {
            produced -= 4
        }
        if produced > 0 {
            output.append(contentsOf: scratch.prefix(produced))
        } else {
            // zlib writes nothing for a flush right after another (an empty
            // message with context takeover), but the peer must find a block
            // before the tail it appends: send an empty stored block's first
            // byte, as RFC 7692 §7.2.3.6 does.
            output.append(0x00)
        }
        if !contextTakeover { deflateReset(stream) }
    }

    /// Where a message is deflated before it is appended to the output.
    /// Kept small between messages: a connection with context takeover
    /// owns its compressor.
    private var scratch = ScratchBuffer(retained: 16 * 1024)

    /// What a sync flush ends with: an empty stored block's LEN and NLEN.
    static let flushTail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]
}
