internal import CZlib

/// Inflates permessage-deflate messages (RFC 7692 §7.2.2) with zlib's raw
/// inflate, never producing more than the caller's limit.
///
/// The message's bytes are inflated followed by the `00 00 FF FF` tail the
/// sender removed. Output grows in steps up to `limit`; past it the
/// message is refused with ``DeflateError/tooLarge`` before more memory is
/// taken, so a few kilobytes that inflate to gigabytes (a decompression
/// bomb) cost at most `limit` bytes.
///
/// Memory: zlib allocates the 2^windowBits window on first use (32 KiB at
/// 15) plus about 7 KiB of state. Not thread-safe: it belongs to one loop,
/// or to one connection on its loop.
public final class DeflateDecompressor {
    /// Whether the window carries over from one message to the next.
    public let contextTakeover: Bool
    private let stream: UnsafeMutablePointer<z_stream>

    /// `windowBits` must be at least the sender's (15 inflates anything).
    public init(windowBits: Int = 15, contextTakeover: Bool) throws(DeflateError) {
        guard (8...15).contains(windowBits) else { throw .invalidParameters }
        self.contextTakeover = contextTakeover
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard switchboard_inflate_init(stream, Int32(windowBits)) == Z_OK else {
            stream.deallocate()
            throw .invalidParameters
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Inflates one whole message. Throws ``DeflateError/tooLarge`` when it
    /// would exceed `limit` bytes and ``DeflateError/corrupt`` for invalid
    /// data; after an error the stream is reset (the caller closes the
    /// connection anyway, and a shared decompressor stays usable).
    /// `limit` may be anything: `Int.max` for none, and below 0 only an
    /// empty message fits.
    public func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws(DeflateError) -> [UInt8] {
        let limit = max(limit, 0)
        var produced = 0
        defer { scratch.releaseIfLarge() }
        var outcome = inflate(input, produced: &produced, limit: limit)
        if outcome == .consumed {
            outcome = Self.flushTail.withUnsafeBytes { inflate($0, produced: &produced, limit: limit) }
        }
        switch outcome {
        case .consumed, .ended:
            // A sender may end a message with a final block; the stream then
            // starts over for the next message.
            if outcome == .ended || !contextTakeover { inflateReset(stream) }
            return Array(scratch.prefix(produced))
        case .failed(let error):
            inflateReset(stream)
            throw error
        }
    }

    private enum Outcome: Equatable {
        /// All input inflated; the stream goes on.
        case consumed
        /// The deflate stream ended (a final block).
        case ended
        case failed(DeflateError)
    }

    /// Where messages are inflated before they are copied out once.
    private var scratch = ScratchBuffer(retained: 64 * 1024)

    /// Feeds `input` to zlib until it is consumed or the stream ends; what it
    /// writes goes to `scratch` after the `produced` bytes already there.
    private func inflate(_ input: UnsafeRawBufferPointer, produced: inout Int, limit: Int) -> Outcome {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
        }
        while true {
            // One byte of room past the limit tells "exactly at the limit"
            // from "over it" without inflating any further (none past Int.max).
            let allowed = limit - produced
            let room = min(max(input.count * 4, 4096, produced), allowed < Int.max ? allowed + 1 : allowed, Int(uInt.max))
            scratch.grow(to: produced + room, keeping: produced)
            stream.pointee.next_out = (scratch.bytes.baseAddress! + produced).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(room)
            let status = CZlib.inflate(stream, Z_SYNC_FLUSH)
            let left = Int(stream.pointee.avail_out)
            produced += room - left
            if produced > limit { return .failed(.tooLarge) }
            switch status {
            case Z_STREAM_END:
                return .ended
            case Z_OK, Z_BUF_ERROR:
                // Done when zlib did not fill the space it had: it would
                // have more to write otherwise.
                if left > 0 { return .consumed }
            default:
                return .failed(.corrupt)
            }
        }
    }

    static let flushTail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]
}
