import Foundation
import ServiceLifecycle
import Switchboard

/// The symbols on offer and their opening prices.
let symbols: [(name: String, price: Double)] = [("AAPL", 231.40), ("MSFT", 422.10), ("GOOG", 176.80), ("AMZN", 201.30)]

/// Made-up prices: a random walk per symbol, published by a service of the
/// application's own that runs beside the server in the same
/// `ServiceGroup`. `PubSub.publish` may be called from any thread or task
/// and returns at once.
struct PriceFeed: Service {
    var symbols: [(name: String, price: Double)]
    var ticksPerSecond: Double
    var pubsub: PubSub

    func run() async throws {
        var prices = symbols
        // Ends when the group shuts down gracefully (or cancels this task).
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let time = Int(Date().timeIntervalSince1970 * 1000)
            for index in prices.indices {
                let (name, price) = prices[index]
                let next = (price * (1 + .random(in: -0.002...0.002)) * 100).rounded() / 100
                prices[index].price = next
                // `data` for the client: {"symbol":"AAPL","price":231.52,"time":1732204800000}
                pubsub.publish("ticks.\(name)", json: #"{"symbol":"\#(name)","price":\#(next),"time":\#(time)}"#)
            }
            try? await Task.sleep(for: .seconds(1 / ticksPerSecond))
        }
    }
}
