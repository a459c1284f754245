import Foundation
import Switchboard

/// The symbols on offer and their opening prices.
let symbols: [(name: String, price: Double)] = [("AAPL", 231.40), ("MSFT", 422.10), ("GOOG", 176.80), ("AMZN", 201.30)]

/// Made-up prices: a random walk per symbol, published on a thread of its
/// own, as any application thread would. `PubSub.publish` may be called from
/// any thread and returns at once.
struct PriceFeed {
    var symbols: [(name: String, price: Double)]
    var ticksPerSecond: Double

    func start(publishingTo pubsub: PubSub) {
        let thread = Thread { [symbols, ticksPerSecond] in
            var prices = symbols
            while true {
                let time = Int(Date().timeIntervalSince1970 * 1000)
                for index in prices.indices {
                    let (name, price) = prices[index]
                    let next = (price * (1 + .random(in: -0.002...0.002)) * 100).rounded() / 100
                    prices[index].price = next
                    // `data` for the client: {"symbol":"AAPL","price":231.52,"time":1732204800000}
                    pubsub.publish("ticks.\(name)", json: #"{"symbol":"\#(name)","price":\#(next),"time":\#(time)}"#)
                }
                Thread.sleep(forTimeInterval: 1 / ticksPerSecond)
            }
        }
        thread.name = "price feed"
        thread.start()
    }
}
