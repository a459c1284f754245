import Metrics
public import MetricsTestKit

/// The metrics backend of the test process (all test targets run in one):
/// bootstrapped once, by the first test that needs it; every server and
/// backplane started afterwards reports into it.
public enum TestMetricsBackend {
    public static let shared: TestMetrics = {
        let metrics = TestMetrics()
        MetricsSystem.bootstrap(metrics)
        return metrics
    }()
}
