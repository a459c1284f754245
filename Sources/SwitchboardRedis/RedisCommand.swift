/// One Redis command in RESP2, the wire form hiredis queues as given
/// (`redisAsyncFormattedCommand`): an array of bulk strings.
///
/// Built on the caller's thread, so a publish hands the loop a finished
/// command and the loop only copies it into hiredis's output buffer.
struct RedisCommand: Sendable, Equatable {
    private(set) var bytes: [UInt8] = []

    /// `*count\r\n`; exactly `count` arguments must follow.
    init(argumentCount: Int, reservingCapacity capacity: Int = 64) {
        bytes.reserveCapacity(capacity)
        appendDecimal(prefix: UInt8(ascii: "*"), argumentCount)
    }

    init(_ arguments: String...) {
        self.init(argumentCount: arguments.count)
        for argument in arguments { append(argument: argument.utf8) }
    }

    /// `$length\r\n<bytes>\r\n`.
    mutating func append(argument: some Collection<UInt8>) {
        appendDecimal(prefix: UInt8(ascii: "$"), argument.count)
        bytes.append(contentsOf: argument)
        bytes.append(contentsOf: [13, 10])
    }

    /// One argument made of two pieces, without joining them first.
    mutating func append(argument first: some Collection<UInt8>, _ second: UnsafeRawBufferPointer) {
        appendDecimal(prefix: UInt8(ascii: "$"), first.count + second.count)
        bytes.append(contentsOf: first)
        bytes.append(contentsOf: second)
        bytes.append(contentsOf: [13, 10])
    }

    private mutating func appendDecimal(prefix: UInt8, _ value: Int) {
        bytes.append(prefix)
        bytes.append(contentsOf: String(value).utf8)
        bytes.append(contentsOf: [13, 10])
    }
}
