/// Bytes zlib writes into before they are copied out once. Grown by
/// doubling; kept between messages only up to `retained` bytes, so a
/// connection's stream does not hold on to the largest message it ever
/// saw. Writing into raw memory also spares zero-filling an array's room
/// first (for a big message that was half its size, byte by byte in a debug
/// build).
struct ScratchBuffer: ~Copyable {
    private(set) var bytes = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private let retained: Int

    init(retained: Int) {
        self.retained = retained
    }

    deinit {
        bytes.deallocate()
    }

    /// Room for at least `size` bytes; the first `kept` bytes stay.
    mutating func grow(to size: Int, keeping kept: Int) {
        guard size > bytes.count else { return }
        let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, bytes.count * 2), alignment: 16)
        if let base = bytes.baseAddress {
            grown.baseAddress!.copyMemory(from: base, byteCount: kept)
            bytes.deallocate()
        }
        bytes = grown
    }

    /// Frees the memory if it grew past what is kept between messages.
    mutating func releaseIfLarge() {
        guard bytes.count > retained else { return }
        bytes.deallocate()
        bytes = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }

    /// The first `count` bytes written.
    func prefix(_ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[0..<count])
    }
}
