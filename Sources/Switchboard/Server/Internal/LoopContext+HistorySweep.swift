import SwitchboardIO

extension LoopContext {
    /// Sweeps one shard of the topic history at a time, so messages of
    /// quiet topics expire and forgotten positions free their memory
    /// without a pause proportional to the number of topics.
    func startHistorySweep() {
        let every = HistoryKeeper.sweepMilliseconds
        let pubsub = self.pubsub
        historySweepTimer = LoopTimer(on: loop, after: every, repeating: every) { pubsub.sweepHistory() }
    }

    func stopHistorySweep() {
        historySweepTimer?.cancel()
        historySweepTimer = nil
    }
}
