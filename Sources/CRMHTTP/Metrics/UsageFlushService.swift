import CRMCore
import Logging
import ServiceLifecycle

/// `crm serve` runs the usage loop (flush + fleet gauges once a minute) as a service. Put it
/// last in the group: on SIGTERM the group stops services in reverse order, so it makes its
/// final flush while the server's pool is still open.
public struct UsageFlushService: Service {
    let usage: UsageServices
    let logger: Logger

    public init(usage: UsageServices, logger: Logger) {
        self.usage = usage
        self.logger = logger
    }

    public func run() async throws {
        let usage = self.usage, logger = self.logger
        await cancelWhenGracefulShutdown { await usage.work(logger: logger) }
        await usage.flushOnShutdown(logger: logger)
    }
}
