/// One Redis command in RESP2, the wire form hiredis queues as given
/// (`redisAsyncFormattedCommand`): an array of bulk strings.
///
/// Built on the caller's thread, so a publish hands the loop a finished
/// command and the loop only copies it into hiredis's output buffer.
struct RedisCommand: Sendable, Equatable {
    /// The command, then one NUL byte that is not part of it: hiredis
    /// walks a SUBSCRIBE's arguments with `strchr`, which must find the
    /// end of the string rather than run past the buffer.
    private var storage: [UInt8] = []

    /// `*count\r\n`; exactly `count` arguments must follow.
    init(argumentCount: Int, reservingCapacity capacity: Int = 64) {
        storage.reserveCapacity(capacity)
        appendDecimal(prefix: UInt8(ascii: "*"), argumentCount)
        storage.append(0)
    }

    init(_ arguments: String...) {
        self.init(argumentCount: arguments.count)
        for argument in arguments { append(argument: argument.utf8) }
    }

    /// The command's bytes, without the NUL.
    var bytes: [UInt8] { Array(storage.dropLast()) }
    var count: Int { storage.count - 1 }

    /// The command as a NUL-terminated C string, and its length without the NUL.
    func withCString<Result>(_ body: (UnsafePointer<CChar>, Int) -> Result) -> Result {
        storage.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!, $0.count - 1) }
        }
    }

    /// `$length\r\n<bytes>\r\n`.
    mutating func append(argument: some Collection<UInt8>) {
        storage.removeLast()
        appendDecimal(prefix: UInt8(ascii: "$"), argument.count)
        storage.append(contentsOf: argument)
        storage.append(contentsOf: [13, 10, 0])
    }

    /// One argument made of two pieces, without joining them first.
    mutating func append(argument first: some Collection<UInt8>, _ second: UnsafeRawBufferPointer) {
        storage.removeLast()
        appendDecimal(prefix: UInt8(ascii: "$"), first.count + second.count)
        storage.append(contentsOf: first)
        storage.append(contentsOf: second)
        storage.append(contentsOf: [13, 10, 0])
    }

    private mutating func appendDecimal(prefix: UInt8, _ value: Int) {
        storage.append(prefix)
        storage.append(contentsOf: String(value).utf8)
        storage.append(contentsOf: [13, 10])
    }
}
