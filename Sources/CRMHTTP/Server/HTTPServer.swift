import CRMCore
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// Assembles the routes and middleware; the same router serves `crm serve` and the tests.
public enum HTTPServer {
    public static func router(services: AppServices, logger: Logger) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        CRMMetrics.bootstrap()
        let httpMetrics = HTTPMetrics()
        router.add(middleware: HTTPMetricsMiddleware(metrics: httpMetrics))
        router.add(middleware: RequestLogMiddleware(trustForwardedFor: services.config.trustForwardedFor, logger: logger))
        HealthRoutes.register(on: router, db: services.db)
        MetricsRoutes.register(on: router, token: services.config.metricsToken)
        OpsRoutes.register(on: router, services: services)
        OpsBackupRoutes.register(on: router, services: services)
        let api = router.group("api/v1")
            .add(middleware: TenantMiddleware(directory: services.directory, baseDomain: services.config.baseDomain))
            .add(middleware: UsageMiddleware(usage: services.usage, metrics: httpMetrics))
        let idempotent = IdempotencyMiddleware(services: services, scope: .tenant)
        let authed = api.group().add(middleware: TenantAuthMiddleware(services: services)).add(middleware: idempotent)
        let authedShort = api.group().add(middleware: TenantAuthMiddleware(services: services, holdTransaction: false))
            .add(middleware: idempotent)
        IdentityRoutes.register(api: api, authed: authed, authedShort: authedShort, services: services)
        AdminOrgRoutes.register(on: authed, short: authedShort, services: services)
        BillingRoutes.register(on: authedShort, services: services)
        WebhookRoutes.register(on: authed, short: authedShort, services: services)
        let oneTrip = api.group().add(middleware: OneTripReadMiddleware(services: services))
            .add(middleware: TenantAuthMiddleware(services: services))
        RecordRoutes.register(on: authed, oneTrip: oneTrip, services: services)
        MetadataRoutes.register(on: authed, services: services)
        ModuleRoutes.register(on: authed, services: services)
        ModuleRouteMount.register(on: authed, services: services)
        InboxRoutes.register(on: authed, services: services)
        UsageRoutes.register(tenant: authed, ops: router, services: services)
        // Last: router middleware added after the routes wraps only the not-found answer.
        router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))
        return router
    }

    /// The server with the database pool as a service: on SIGTERM the server stops taking
    /// connections and finishes in-flight requests first, then the pool closes.
    public static func application(services: AppServices, logger: Logger,
                                   onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        var app = Application(
            router: router(services: services, logger: logger),
            server: serverBuilder,
            configuration: .init(address: .hostname(services.config.host, port: services.config.port), serverName: "crm"),
            services: [services.db.client],
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? services.config.port) },
            logger: logger)
        // Refuse to serve a platform schema the code does not match.
        app.beforeServerStarts {
            let runner = services.migrator()
            let version = try await runner.platformVersion()
            guard version == runner.platformScope.head else {
                throw StartupError(description: "the platform schema is at version \(version), this build needs \(runner.platformScope.head): run `crm migrate` first")
            }
            // Isolation rests on the login role holding no rights of its own.
            let inherits: Bool = try await services.db.platformTransaction { tx in
                for try await (inherit, superuser) in try await tx.query(
                    "SELECT rolinherit, rolsuper FROM pg_roles WHERE rolname = session_user").decode((Bool, Bool).self)
                { return inherit || superuser }
                return true
            }
            guard !inherits else {
                throw StartupError(description: "the login role must be NOINHERIT and not a superuser (see ops/lib.sh bootstrap_database)")
            }
        }
        return app
    }

    /// HTTP/1.1 with a problem+json answer for requests the parser refuses, and no reading of
    /// large bodies already refused.
    public static var serverBuilder: HTTPServerBuilder {
        .http1(configuration: .init(additionalChannelHandlers: [RequestHeadErrorAnswer(), UnreadBodyCloser()]))
    }

    struct StartupError: Error, CustomStringConvertible {
        let description: String
    }
}
