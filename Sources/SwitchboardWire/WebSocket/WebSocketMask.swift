/// XORs `bytes` in place with the 4-byte masking key (RFC 6455 §5.3), starting at key position
/// `keyOffset % 4`: byte `i` is XORed with `key[(keyOffset + i) % 4]`.
///
/// `keyOffset` lets a payload be unmasked in pieces as it arrives: pass the number of payload
/// bytes already unmasked. Works 16 bytes per step with unaligned loads; bytes are handled one
/// at a time only at the end. Masking and unmasking are the same operation.
public func applyWebSocketMask(
    _ key: (UInt8, UInt8, UInt8, UInt8),
    to bytes: UnsafeMutableRawBufferPointer,
    keyOffset: Int = 0
) {
    WebSocketMaskingKey(key).apply(to: bytes, keyOffset: keyOffset)
}

/// A masking key (RFC 6455 §5.3) as one value that is `Hashable` and indexable, unlike the
/// tuple of the public API.
struct WebSocketMaskingKey: Sendable, Hashable {
    /// The key bytes in network order: byte 0 in the most significant position.
    var value: UInt32

    init(_ key: (UInt8, UInt8, UInt8, UInt8)) {
        value = UInt32(key.0) << 24 | UInt32(key.1) << 16 | UInt32(key.2) << 8 | UInt32(key.3)
    }

    /// Reads the four key bytes at `offset` of a frame header.
    @inline(__always)
    init(bytes: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset &+ 4 <= bytes.count, "masking key out of bounds")
        value = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// Reads the four key bytes at `pointer`, which the caller has checked.
    @inline(__always)
    init(unchecked pointer: UnsafeRawPointer) {
        value = UInt32(bigEndian: pointer.loadUnaligned(as: UInt32.self))
    }

    /// XORs `bytes` in place with the key starting at key position `keyOffset % 4`; see
    /// ``applyWebSocketMask(_:to:keyOffset:)``. Inlined: every data frame's payload comes
    /// through here, most of them small.
    @inline(__always)
    func apply(to bytes: UnsafeMutableRawBufferPointer, keyOffset: Int = 0) {
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return }
        let phase = keyOffset & 3
        // Eight key bytes in memory order starting at `phase`; 8 and 16 are multiples of 4,
        // so the same pattern lines up with every step.
        var pattern: UInt64 = 0
        #if _endian(little)
        // The key bytes in memory order (key byte 0 at the lowest address),
        // turned so that key byte `phase` comes first, twice.
        let memoryOrder = value.byteSwapped
        let shift = UInt32(phase &* 8)
        let turned = shift == 0 ? memoryOrder : memoryOrder >> shift | memoryOrder << (32 &- shift)
        pattern = UInt64(turned) | UInt64(turned) << 32
        #else
        withUnsafeMutableBytes(of: &pattern) { word in
            for index in 0..<8 { word[index] = self[(phase &+ index) & 3] }
        }
        #endif
        var index = 0
        // 16 bytes a step (SSE, NEON); the compiler unrolls it.
        let wide = unsafeBitCast(SIMD2<UInt64>(pattern, pattern), to: SIMD16<UInt8>.self)
        while count &- index >= 16 {
            let chunk = base.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
            base.storeBytes(of: chunk ^ wide, toByteOffset: index, as: SIMD16<UInt8>.self)
            index &+= 16
        }
        if count &- index >= 8 {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            base.storeBytes(of: word ^ pattern, toByteOffset: index, as: UInt64.self)
            index &+= 8
        }
        while index < count {
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            base.storeBytes(of: byte ^ self[(phase &+ index) & 3], toByteOffset: index, as: UInt8.self)
            index &+= 1
        }
    }

    /// Key byte `index`, 0–3.
    @inline(__always)
    subscript(index: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: value >> UInt32(24 &- 8 &* index))
    }
}
