import ArgumentParser
import CRMHTTP
import Foundation

extension DevCommand {
    /// `crm dev metrics-cardinality`: the series /metrics would expose after the same traffic
    /// mix from N tenants (in-process, a private registry; no server, no database).
    struct MetricsCardinalityCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "metrics-cardinality",
            abstract: "Count the Prometheus series after the same traffic mix from N tenants (ops/bench metrics).")

        @Option(help: "Tenants touched (repeatable).")
        var tenants: [Int] = [1000, 10000]

        func run() throws {
            var counts: [Int] = []
            for n in tenants {
                let r = MetricsCardinality.run(tenants: n)
                counts.append(r.series)
                print("tenants=\(n) series=\(r.series) top_api_calls_series=\(r.topSeries) tenant_label_leak=\(r.tenantLabelLeak)")
            }
            if let lo = counts.min(), let hi = counts.max(), lo > 0 {
                print(String(format: "spread=%.2f%% max=%d", Double(hi - lo) / Double(lo) * 100, hi))
            }
        }
    }
}
