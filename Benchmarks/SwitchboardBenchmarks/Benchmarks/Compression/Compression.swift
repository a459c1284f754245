import Benchmark
import SwitchboardDeflate
import SwitchboardWire

/// What one message costs the server to send and to receive, plain and
/// with permessage-deflate (the default settings: level 6, 15-bit window,
/// no context takeover), for JSON-like messages of three sizes.
///
/// "send plain" is the whole per-message work of an uncompressed send
/// (frame header + payload copy into the output); "send compressed" adds
/// deflate. "receive compressed" is the inflate a compressed message adds
/// on top of the plain receive path.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.cpuTotal, .wallClock, .throughput, .mallocCountTotal],
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )

    for size in [128, 1_024, 16_384] {
        let message = jsonLike(size)
        var frame = [UInt8](repeating: 0, count: WebSocketFrame.serverHeaderSize(payloadLength: size) + size)

        Benchmark("send plain \(size) B") { benchmark in
            for _ in benchmark.scaledIterations {
                message.withUnsafeBytes { payload in
                    frame.withUnsafeMutableBytes { target in
                        WebSocketFrame.writeServerFrame(opcode: .text, payload: payload, into: target)
                    }
                }
                blackHole(frame)
            }
        }

        let compressor = try! DeflateCompressor(contextTakeover: false)
        var output: [UInt8] = []
        Benchmark("send compressed \(size) B") { benchmark in
            for _ in benchmark.scaledIterations {
                output.removeAll(keepingCapacity: true)
                message.withUnsafeBytes { compressor.compress($0, appendingTo: &output) }
                var compressedFrame = [UInt8](repeating: 0, count: WebSocketFrame.serverHeaderSize(payloadLength: output.count) + output.count)
                output.withUnsafeBytes { payload in
                    compressedFrame.withUnsafeMutableBytes { target in
                        WebSocketFrame.writeServerFrame(opcode: .text, rsv1: true, payload: payload, into: target)
                    }
                }
                blackHole(compressedFrame)
            }
        }

        var compressed: [UInt8] = []
        message.withUnsafeBytes { compressor.compress($0, appendingTo: &compressed) }
        let decompressor = try! DeflateDecompressor(contextTakeover: false)
        Benchmark("receive compressed \(size) B (inflate, \(compressed.count) B on the wire)") { benchmark in
            for _ in benchmark.scaledIterations {
                let inflated = compressed.withUnsafeBytes { try! decompressor.decompress($0, limit: 1 << 20) }
                blackHole(inflated)
            }
        }
    }

    // The settings behind the defaults: without context takeover every
    // message starts from a reset stream, and a reset clears a hash table
    // of 2^(memoryLevel+8) bytes, so a lower memory level is cheaper for
    // small messages; the level trades CPU for ratio.
    for (level, memoryLevel) in [(6, 8), (1, 8), (6, 4), (1, 4), (6, 1)] {
        let message = jsonLike(1_024)
        let compressor = try! DeflateCompressor(level: level, memoryLevel: memoryLevel, contextTakeover: false)
        var output: [UInt8] = []
        message.withUnsafeBytes { compressor.compress($0, appendingTo: &output) }
        Benchmark("deflate 1024 B level \(level) memoryLevel \(memoryLevel) (\(output.count) B)") { benchmark in
            for _ in benchmark.scaledIterations {
                output.removeAll(keepingCapacity: true)
                message.withUnsafeBytes { compressor.compress($0, appendingTo: &output) }
                blackHole(output)
            }
        }
    }
}

/// Ticker-like JSON: repeated keys, changing numbers.
func jsonLike(_ size: Int) -> [UInt8] {
    var text = "["
    var index = 0
    while text.utf8.count < size {
        text += "{\"seq\":\(index),\"symbol\":\"SYM\(index % 13)\",\"bid\":\(100 + index % 17).25,\"ask\":\(101 + index % 19).5},"
        index += 1
    }
    return Array(text.utf8.prefix(size))
}
