/// An immutable, reference-counted byte buffer whose storage never moves.
///
/// This is the unit of the write path: a frame or response is encoded once
/// into a `SharedBytes`, and the same object can sit in the write queues of
/// many connections at once (the publish path's "encode once"). Because the
/// bytes live in the object's tail allocation and are never mutated after
/// creation, a pointer to them stays valid for as long as the object is
/// retained, which is what an asynchronous `uv_write` needs. One allocation
/// per buffer, header and bytes together.
public final class SharedBytes: @unchecked Sendable {
    // Safe to share across threads: the storage is written only inside
    // `init`, before the object is published, and only read afterwards.
    private let storage: Storage

    /// The number of bytes.
    public var count: Int { storage.header }

    /// Makes a buffer of `count` bytes, filled in by `initialize` exactly once.
    public init(count: Int, initialize: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        storage = Storage.create(minimumCapacity: count) { _ in count } as! Storage
        try storage.withUnsafeMutablePointerToElements { elements in
            try initialize(UnsafeMutableRawBufferPointer(start: elements, count: count))
        }
    }

    /// Copies `bytes` into a new buffer.
    public convenience init(_ bytes: some Collection<UInt8>) {
        self.init(count: bytes.count) { target in
            _ = target.initializeMemory(as: UInt8.self, from: bytes)
        }
    }

    /// Copies the UTF-8 of `string` into a new buffer.
    public convenience init(string: String) {
        self.init(Array(string.utf8))
    }

    /// Reads the bytes. The pointer is valid while this object is alive.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeMutablePointerToElements { elements in
            try body(UnsafeRawBufferPointer(start: elements, count: storage.header))
        }
    }

    /// The start of the bytes, stable for the object's lifetime (the tail
    /// allocation of a `ManagedBuffer` never moves).
    var baseAddress: UnsafeMutableRawPointer {
        storage.withUnsafeMutablePointerToElements { UnsafeMutableRawPointer($0) }
    }

    /// A copy of the bytes as an array (tests and diagnostics).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    private final class Storage: ManagedBuffer<Int, UInt8> {}
}
