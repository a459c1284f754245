/// Which node published a message, so a node can skip its own publishes
/// when Redis hands them back (its local subscribers already have them).
package struct NodeID: Hashable, Sendable {
    package var high: UInt64
    package var low: UInt64

    static func random() -> NodeID {
        var generator = SystemRandomNumberGenerator()
        return NodeID(high: generator.next(), low: generator.next())
    }
}

/// What a node puts on a Redis channel: a small header, then the payload
/// unchanged.
///
/// ```
/// byte 0      format version (1)
/// byte 1      flags: bit 0 set for a text message, clear for binary
/// bytes 2-17  the sender's NodeID (big-endian high, then low)
/// bytes 18-   the payload
/// ```
package enum BackplaneEnvelope {
    package static let version: UInt8 = 1
    package static let headerSize = 18

    package static func header(sender: NodeID, isText: Bool) -> [UInt8] {
        var header: [UInt8] = [version, isText ? 1 : 0]
        header.reserveCapacity(headerSize)
        for word in [sender.high, sender.low] {
            for shift in stride(from: 56, through: 0, by: -8) { header.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return header
    }

    package struct Decoded {
        package var sender: NodeID
        package var isText: Bool
        package var payload: UnsafeRawBufferPointer
    }

    /// `nil` for anything this version did not write (another program
    /// publishing on the channel, a future format).
    package static func decode(_ message: UnsafeRawBufferPointer) -> Decoded? {
        guard message.count >= headerSize, message[0] == version, message[1] & ~1 == 0 else { return nil }
        func word(at offset: Int) -> UInt64 {
            (0..<8).reduce(0) { $0 << 8 | UInt64(message[offset + $1]) }
        }
        return Decoded(
            sender: NodeID(high: word(at: 2), low: word(at: 10)),
            isText: message[1] & 1 == 1,
            payload: UnsafeRawBufferPointer(rebasing: message[headerSize...])
        )
    }
}

/// A message of a history topic as the publish script puts it on the
/// channel (`RedisHistoryScripts`): byte 2, the epoch (16 hex digits),
/// `:`, the offset in decimal, `:`, the JSON. No sender: every node, the
/// publishing one included, delivers it when Redis hands it over, so all
/// see Redis's order.
package enum KeptEnvelope {
    package static let version: UInt8 = 2

    package struct Decoded: Equatable {
        package var epoch: String
        package var offset: UInt64
        package var json: String
    }

    /// `nil` for anything the publish script does not write: an epoch
    /// that is not 16 hex digits, an offset of 0 or past `Int64.max` (a
    /// stream's offsets are counted in Redis's 64-bit signed integers).
    /// 16 lowercase hex digits, not all zero: an epoch as a node makes it
    /// (`RedisBackplane.freshEpoch`).
    package static func isEpoch(_ text: some Collection<UInt8>) -> Bool {
        text.count == 16 && text.contains { $0 != UInt8(ascii: "0") }
            && text.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    package static func decode(_ message: UnsafeRawBufferPointer) -> Decoded? {
        guard message.count >= 20, message[0] == version, message[17] == UInt8(ascii: ":"), isEpoch(message[1..<17]) else { return nil }
        var offset: UInt64 = 0
        var index = 18
        while index < message.count, message[index] != UInt8(ascii: ":") {
            let digit = message[index] &- UInt8(ascii: "0")
            guard digit < 10, offset <= (UInt64(Int64.max) - UInt64(digit)) / 10 else { return nil }
            offset = offset * 10 + UInt64(digit)
            index += 1
        }
        guard index > 18, index < message.count, offset > 0 else { return nil }
        return Decoded(
            epoch: String(decoding: message[1..<17], as: UTF8.self),
            offset: offset,
            json: String(decoding: message[(index + 1)...], as: UTF8.self))
    }
}
