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
        let start = output.count
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        // Deflate rarely grows data by more than a few bytes per block; the
        // first guess usually holds, and the loop grows the output if not.
        var chunk = input.count / 2 + 64
        while true {
            let before = output.count
            output.append(contentsOf: repeatElement(0, count: chunk))
            let left: uInt = output.withUnsafeMutableBytes { bytes in
                stream.pointee.next_out = (bytes.baseAddress! + before).assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(chunk)
                // Z_SYNC_FLUSH never fails with a valid stream and room to write.
                _ = deflate(stream, Z_SYNC_FLUSH)
                return stream.pointee.avail_out
            }
            output.removeLast(Int(left))
            // Room left over means the flush is complete (zlib: call again
            // only while it fills all of the output space).
            if left > 0 { break }
            chunk = max(chunk, 1024) * 2
        }
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        // RFC 7692 §7.2.1: remove the 4 octets 0x00 0x00 0xff 0xff at the tail.
        if output.count - start >= 4, output.suffix(4).elementsEqual(Self.flushTail) {
            output.removeLast(4)
        }
        // zlib writes nothing for a flush right after another (an empty
        // message with context takeover), but the peer must find a block
        // before the tail it appends: send an empty stored block's first
        // byte, as RFC 7692 §7.2.3.6 does.
        if output.count == start { output.append(0x00) }
        if !contextTakeover { deflateReset(stream) }
    }

    /// What a sync flush ends with: an empty stored block's LEN and NLEN.
    static let flushTail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]
}
