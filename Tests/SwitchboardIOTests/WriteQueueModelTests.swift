internal import CLibUV
import Testing
import TestSupport
@testable import SwitchboardIO

/// The write queue against the simplest model of it, a byte array: seeded
/// random appends (empty, small, large), gathers with any capacity and byte
/// limit, and partial or whole consumes, checked after every step.
@Suite("Write queue against a model")
struct WriteQueueModelTests {
    @Test(arguments: [1, 2, 3, 4, 5])
    func randomOperationsMatchAByteArray(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var queue = WriteQueue()
        var model: [UInt8] = []
        var next: UInt8 = 0
        let buffers = UnsafeMutablePointer<uv_buf_t>.allocate(capacity: 64)
        defer { buffers.deallocate() }
        for step in 0..<20_000 {
            switch random.below(10) {
            case 0...3:
                let size = random.chance(8) ? Int(random.below(5_000)) : Int(random.below(40))
                let bytes = (0..<size).map { _ in defer { next &+= 1 }; return next }
                queue.append(SharedBytes(bytes))
                model += bytes
            case 4...6:
                let capacity = Int(random.below(65))
                let limit = random.chance(3) ? Int.max : Int(random.below(300))
                let (count, total) = queue.gather(into: buffers, capacity: capacity, maxBytes: limit)
                var gathered: [UInt8] = []
                for index in 0..<count {
                    let buffer = buffers[index]
                    gathered += UnsafeRawBufferPointer(start: buffer.base, count: buffer.len)
                }
                #expect(count <= capacity && total <= limit, "step \(step)")
                #expect(gathered.count == total && gathered == Array(model.prefix(total)), "step \(step)")
                if capacity > 0, limit > 0, !model.isEmpty { #expect(total > 0, "step \(step)") }
            default:
                let consumed = model.isEmpty ? 0 : Int(random.below(UInt64(model.count) + 1))
                queue.consume(consumed)
                model.removeFirst(consumed)
            }
            #expect(queue.byteCount == model.count && queue.isEmpty == model.isEmpty, "step \(step)")
        }
    }
}
