package import CHiredis

/// A bound on the arrays hiredis's reader builds. hiredis 0.14 takes an
/// array's announced count at its word and allocates the pointers for all
/// of them at once: a peer that sends `*2000000000` makes it ask for 16 GB
/// before one element has arrived. The largest reply this backplane reads
/// is a history read's, 2 + 2 × `HistoryPolicy.maxMessages` elements: the
/// bound, 2^24 (128 MB of pointers at most), leaves room for 8 million
/// messages a topic. A larger count ends the connection as a reader error
/// ("Out of memory"), and the link reconnects.
package enum ReplyLimits {
    package static let maxArrayElements: Int32 = 1 << 24

    /// Makes `reader` refuse arrays longer than `maxArrayElements`.
    package static func install(on reader: UnsafeMutablePointer<redisReader>) {
        reader.pointee.fn = boundedFunctions
    }
}

/// hiredis's own reply constructors, taken from a reader made for the
/// purpose (the table is static inside hiredis, not exported).
private let hiredisFunctions: redisReplyObjectFunctions = {
    guard let reader = redisReaderCreate() else { fatalError("hiredis: no memory for a reader") }
    defer { redisReaderFree(reader) }
    return reader.pointee.fn.pointee
}()

/// hiredis's constructors with a bounded `createArray` (nil: the reader's
/// out-of-memory error). Made once, never freed, never written again.
nonisolated(unsafe) private let boundedFunctions: UnsafeMutablePointer<redisReplyObjectFunctions> = {
    var functions = hiredisFunctions
    functions.createArray = { task, elements in
        guard elements <= ReplyLimits.maxArrayElements, let create = hiredisFunctions.createArray else { return nil }
        return create(task, elements)
    }
    let table = UnsafeMutablePointer<redisReplyObjectFunctions>.allocate(capacity: 1)
    table.initialize(to: functions)
    return table
}()
