/// An immutable, reference-counted byte buffer whose storage never moves.
///
/// This is the unit of the write path: a frame or response is encoded once
/// into a `SharedBytes`, and the same buffer can sit in the write queues of
/// many connections at once (the publish path's "encode once"). Because the
/// bytes live in the storage object's tail allocation and are never mutated
/// after creation, a pointer to them stays valid for as long as the buffer is
/// retained, which is what an asynchronous `uv_write` needs.
///
/// One heap allocation per buffer: the value is a single reference to a
/// `ManagedBuffer` whose header is the byte count and whose tail is the
/// bytes. Copying a `SharedBytes` is a retain, like copying a class
/// reference, and it is the size of one pointer (also as an `Optional`).
package struct SharedBytes: @unchecked Sendable {
    /// Header: the byte count, written once by `create`. Tail: the bytes.
    /// Safe to share across threads (hence `@unchecked Sendable` above,
    /// which `ManagedBuffer` cannot be): both are written only while the
    /// buffer is being made, before it is published, and only read
    /// afterwards.
    @usableFromInline
    final class Storage: ManagedBuffer<Int, UInt8> {}

    @usableFromInline
    let storage: Storage

    /// Makes a buffer of `count` bytes, filled in by `initialize` exactly once.
    @inlinable
    package init(count: Int, initialize: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        precondition(count >= 0, "SharedBytes: negative count")
        // `create` allocates an instance of the class it is called on.
        storage = unsafeDowncast(Storage.create(minimumCapacity: count) { _ in count }, to: Storage.self)
        try initialize(UnsafeMutableRawBufferPointer(start: storage.elements, count: count))
    }

    /// Copies `bytes` into a new buffer.
    @inlinable
    package init(_ bytes: some Collection<UInt8>) {
        let count = bytes.count
        self.init(count: count) { target in
            let copied: Void? = bytes.withContiguousStorageIfAvailable { source in
                target.copyMemory(from: UnsafeRawBufferPointer(source))
            }
            if copied == nil {
                _ = target.initializeMemory(as: UInt8.self, from: bytes)
            }
        }
    }

    /// Copies the UTF-8 of `string` into a new buffer.
    package init(string: String) {
        var string = string
        self = string.withUTF8 { SharedBytes($0) }
    }

    /// The number of bytes.
    ///
    /// Read through a pointer to the header: the header is never written
    /// after creation, so no exclusivity bookkeeping is needed.
    @inlinable
    package var count: Int { storage.countPointer.pointee }

    /// Reads the bytes. The pointer is valid while this buffer is alive.
    @inlinable
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        defer { _fixLifetime(storage) }
        return try body(UnsafeRawBufferPointer(start: storage.elements, count: count))
    }

    /// The start of the bytes, stable for the buffer's lifetime (the tail
    /// allocation of a `ManagedBuffer` never moves).
    @inlinable
    var baseAddress: UnsafeMutableRawPointer { storage.elements }

    /// A copy of the bytes as an array (tests and diagnostics).
    package var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}

extension SharedBytes.Storage {
    /// The first byte. Pure address arithmetic on the object.
    @inlinable
    var elements: UnsafeMutableRawPointer {
        withUnsafeMutablePointerToElements { UnsafeMutableRawPointer($0) }
    }

    /// The header (the byte count), by address: `ManagedBufferPointer`
    /// computes it from the object's address, without touching the
    /// `header` property and its dynamic exclusivity checks.
    @inlinable
    var countPointer: UnsafeMutablePointer<Int> {
        ManagedBufferPointer<Int, UInt8>(unsafeBufferObject: self).withUnsafeMutablePointerToHeader { $0 }
    }
}
