/// Ways to cut one input into the pieces a socket might deliver.
///
/// The random cuts come from a generator seeded with a hash of the input,
/// so a failing input reproduces from its file alone, and every mutation of
/// an input also tries new cut points.
enum InputSplits {
    /// The input as one piece (none when it is empty, as a socket would).
    static func whole(_ input: [UInt8]) -> [ArraySlice<UInt8>] {
        input.isEmpty ? [] : [input[...]]
    }

    /// One byte at a time: every state a parser can stop in is visited.
    static func bytes(_ input: [UInt8]) -> [ArraySlice<UInt8>] {
        input.indices.map { input[$0...$0] }
    }

    /// Pieces of pseudo-random sizes: mostly 1 to 8 bytes, sometimes up to
    /// the whole rest, so both tiny and large receives follow each other.
    static func random(_ input: [UInt8], salt: UInt64) -> [ArraySlice<UInt8>] {
        var generator = SplitMix64(seed: fnv1a(input) ^ salt)
        var pieces: [ArraySlice<UInt8>] = []
        var start = 0
        while start < input.count {
            let left = input.count - start
            let bound = generator.next() % 4 == 0 ? left : min(left, 8)
            let size = 1 + Int(generator.next() % UInt64(bound))
            pieces.append(input[start..<(start + size)])
            start += size
        }
        return pieces
    }

    /// FNV-1a, 64-bit: a cheap hash that changes with every byte.
    static func fnv1a(_ input: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in input {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny generator whose whole state
/// is one seed, enough to spread cut points.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
