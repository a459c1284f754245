package import CHiredis
import Glibc

/// What hiredis's reader may build from a peer's bytes: hiredis 0.14
/// trusts its peer, and whatever answers at the backplane's address may
/// not be Redis. A reply refused here ends the connection as a reader
/// error ("Out of memory": a constructor's nil), and the link reconnects.
///
/// - Arrays are bounded, and flat. hiredis allocates the pointers for an
///   announced count at once: `*2000000000` asked for 16 GB before one
///   element had arrived. The largest reply the backplane reads is a
///   history read's, 2 + 2 × `RedisHistoryScripts.maxMessages` elements
///   (under 2^21: 16 MB of pointers); no reply it reads holds an array.
///   Bulk strings are not bounded here (Redis's own limit is 512 MB).
/// - On a connection (`install(on:)` with its context), a reply that
///   would trip one of hiredis's asserts in `redisProcessCallbacks` is
///   refused before it is handed over: a reply nobody asked for outside
///   pub/sub (but an error, which hiredis closes on), and in pub/sub an
///   array shorter than 3, a kind or channel that is not a bulk string,
///   or an unsubscribe whose count is not an integer. Each of these
///   aborted the process.
package enum ReplyGuard {
    package static let maxArrayElements: Int32 = 1 << 21

    /// Bounds the arrays `reader` builds (a reader of no connection).
    package static func install(on reader: UnsafeMutablePointer<redisReader>) {
        reader.pointee.fn = guardedFunctions
    }

    /// Bounds the arrays of `context`'s reader and refuses what its
    /// callbacks' dispatch would assert on.
    static func install(on context: UnsafeMutablePointer<redisAsyncContext>) {
        install(on: context.pointee.c.reader)
        context.pointee.c.reader.pointee.privdata = UnsafeMutableRawPointer(context)
    }

    /// Whether the object `task` is about to become would make hiredis
    /// assert (or read past an array) once the reply is complete.
    fileprivate static func refuses(_ task: UnsafePointer<redisReadTask>?, type: Int32, elements: Int32 = 0) -> Bool {
        guard let task else { return true }
        if type == REDIS_REPLY_ARRAY, elements > maxArrayElements || task.pointee.parent != nil { return true }
        guard let context = task.pointee.privdata?.assumingMemoryBound(to: redisAsyncContext.self) else { return false }
        // A regular command's reply: its callback takes any shape.
        guard context.pointee.replies.head == nil else { return false }
        let subscribed = context.pointee.c.flags & REDIS_SUBSCRIBED != 0
        guard let parent = task.pointee.parent else {
            if type == REDIS_REPLY_ERROR { return false }
            return !subscribed || (type == REDIS_REPLY_ARRAY && elements < 3)
        }
        // hiredis looks at the first three elements of a pub/sub reply only.
        guard subscribed, parent.pointee.parent == nil else { return false }
        switch task.pointee.idx {
        case 0, 1:
            return type != REDIS_REPLY_STRING
        case 2:
            guard let reply = parent.pointee.obj?.assumingMemoryBound(to: redisReply.self),
                  let kind = reply.pointee.element[0]?.pointee.str
            else { return true }
            // hiredis's own test: a leading "p" for the pattern variant, then strcasecmp.
            let variant = tolower(Int32(kind[0])) == Int32(UInt8(ascii: "p")) ? 1 : 0
            return strcasecmp(kind + variant, "unsubscribe") == 0 && type != REDIS_REPLY_INTEGER
        default:
            return false
        }
    }
}

/// hiredis's own reply constructors, taken from a reader made for the
/// purpose (the table is static inside hiredis, not exported).
private let hiredisFunctions: redisReplyObjectFunctions = {
    guard let reader = redisReaderCreate() else { fatalError("hiredis: no memory for a reader") }
    defer { redisReaderFree(reader) }
    return reader.pointee.fn.pointee
}()

/// hiredis's constructors behind `ReplyGuard.refuses` (nil: the reader's
/// out-of-memory error). Made once, never freed, never written again.
nonisolated(unsafe) private let guardedFunctions: UnsafeMutablePointer<redisReplyObjectFunctions> = {
    var functions = hiredisFunctions
    functions.createString = { task, text, length in
        guard let task, !ReplyGuard.refuses(task, type: Int32(task.pointee.type)) else { return nil }
        return hiredisFunctions.createString?(task, text, length)
    }
    functions.createArray = { task, elements in
        guard !ReplyGuard.refuses(task, type: REDIS_REPLY_ARRAY, elements: elements) else { return nil }
        return hiredisFunctions.createArray?(task, elements)
    }
    functions.createInteger = { task, value in
        guard !ReplyGuard.refuses(task, type: REDIS_REPLY_INTEGER) else { return nil }
        return hiredisFunctions.createInteger?(task, value)
    }
    functions.createNil = { task in
        guard !ReplyGuard.refuses(task, type: REDIS_REPLY_NIL) else { return nil }
        return hiredisFunctions.createNil?(task)
    }
    let table = UnsafeMutablePointer<redisReplyObjectFunctions>.allocate(capacity: 1)
    table.initialize(to: functions)
    return table
}()
