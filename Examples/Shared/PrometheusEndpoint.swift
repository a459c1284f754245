import Metrics
import Prometheus
import Switchboard

/// Bootstraps swift-metrics with a Prometheus registry and serves it at
/// `path` in Prometheus's text format (the server's metrics are listed in
/// Docs/Operations.md). Call it before the server starts: a server started
/// without a backend reports nothing. The examples share this file.
func servePrometheusMetrics(on router: Router, at path: String = "/metrics") {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    router.get(path) { _ in
        Response(status: .ok, headerFields: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: registry.emitToBuffer())
    }
}
