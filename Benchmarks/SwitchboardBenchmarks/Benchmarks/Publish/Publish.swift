import Benchmark
import Switchboard

/// What a publish costs the publishing thread, with no subscribers (so
/// delivery, which history does not change, is left out): a topic without
/// history (frame encoded, directory looked up) against one a history rule
/// names (also: the stream's lock, the next offset, the offset written into
/// the frame, the frame kept in a full ring of 100 and the oldest dropped).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.cpuTotal, .wallClock, .throughput, .mallocCountTotal],
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )

    let server = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, history: TopicHistory(rules: [.prefix("kept.")])))
    let message = #"{"user":"ann","text":"a message of about a hundred bytes, as a chat line would be","seq":12345}"#

    Benchmark("publish json, topic without history") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(server.pubsub.publish("plain.room", json: message))
        }
    }

    Benchmark("publish json, topic with history") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(server.pubsub.publish("kept.room", json: message))
        }
    }

    // Fan-out through a running server (one loop) to 100 client-protocol
    // subscribers on loopback sockets, read by this thread: each iteration
    // publishes 100 messages and waits until all 10,000 deliveries arrived.
    let running = Server(configuration: ServerConfiguration(port: 0, loopCount: 1, history: TopicHistory(rules: [.prefix("kept.")])))
    running.pubsubEndpoint("/pubsub", configuration: WebSocketConfiguration(origins: .any, maxQueuedBytes: 64 << 20),
                           authorizer: PubSubAuthorizer(), publishRateLimit: nil)
    let port = try! running.start().port
    for topic in ["plain.room", "kept.room"] {
        let subscribers = LoopbackSubscribers(port: port, count: 100, topic: topic)
        Benchmark(
            "fan-out to 100 subscribers, topic \(topic == "kept.room" ? "with" : "without") history (x10,000 deliveries)",
            configuration: .init(metrics: [.cpuTotal, .wallClock, .throughput], maxDuration: .seconds(3), maxIterations: 10_000)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                for _ in 0..<100 { running.pubsub.publish(topic, json: message) }
                subscribers.receive(frames: 100 * 100)
            }
        }
    }
}
