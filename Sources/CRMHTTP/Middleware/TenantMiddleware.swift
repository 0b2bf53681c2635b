import CRMCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Finds the tenant of an `/api/v1` request from `X-Tenant` or the host's subdomain, and
/// refuses writes to a tenant that is read-only (423), and every request to one an operator locked.
struct TenantMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let directory: TenantDirectory
    let baseDomain: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let slug = slug(of: request) else {
            throw CRMError(.tenantNotFound, "Name the tenant with the X-Tenant header or the host <slug>.\(baseDomain).")
        }
        guard Slug.problem(slug) == nil, let tenant = try await directory.resolve(slug: slug) else {
            throw CRMError(.tenantNotFound, "No tenant '\(slug.prefix(40))'.")
        }
        if tenant.adminLock != nil {
            // Reads too, and logins: a locked tenant may be moving to another cell.
            throw CRMError(.tenantLocked, "This tenant is locked by the service's operators; contact support.")
        }
        if !tenant.status.acceptsWrites, ![.get, .head, .options].contains(request.method),
           !request.uri.path.hasSuffix("/auth/login"), !request.uri.path.hasSuffix("/auth/logout")
        {
            throw CRMError(.tenantSuspended, "This tenant is \(tenant.status.rawValue) and read-only.")
        }
        var context = context
        context.tenant = tenant
        context.logger[metadataKey: "tenant"] = .string(tenant.slug)
        context.logInfo.tenant = tenant.slug
        return try await next(request, context)
    }

    func slug(of request: Request) -> String? {
        if let header = request.headers[.init("X-Tenant")!] {
            return header.trimmingSpacesAndTabs.lowercased()
        }
        // HTTP/1 servers move Host into the authority; the header is the fallback.
        let suffix = "." + baseDomain
        let hosts = [request.head.authority, request.headers[HTTPField.Name("Host")!]].compactMap { $0 }
            .map { $0.split(separator: ":").first.map { $0.lowercased() } ?? "" }
        guard let host = hosts.first(where: { $0.hasSuffix(suffix) }) else { return nil }
        let label = host.dropLast(suffix.count)
        return label.contains(".") || label.isEmpty ? nil : String(label)
    }
}

/// Authenticates the bearer token of a tenant request. By default it then holds the tenant
/// transaction open for the handler, so the token check and the work share one transaction;
/// the request body is read first, so a slow client never holds a connection. Handlers that
/// hash passwords use `holdTransaction: false` and open short transactions themselves.
struct TenantAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let services: AppServices
    var holdTransaction = true

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let tenant = try context.requireTenant()
        guard BearerToken.from(request) != nil else { throw CRMError.unauthorized }
        var request = request
        var context = context
        if ![.get, .head, .options].contains(request.method) {
            // A declared length over the limit is refused before a byte of it is read.
            if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > services.config.maxBodyBytes {
                throw JSONBody.tooLarge(services.config.maxBodyBytes)
            }
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: services.config.maxBodyBytes)
            } catch is NIOTooManyBytesError {
                throw JSONBody.tooLarge(services.config.maxBodyBytes)
            }
            // A JSON body is checked (syntax, nesting, keys, numbers: `JSONParser`, linear) before
            // a connection is taken, so a bad body never holds one; the handler reads it again.
            if body.readableBytes > 0, (try? JSONBody.checkMediaType(request)) != nil {
                context.jsonObject = try body.withUnsafeReadableBytes { try JSONParser.parseObject($0) }
            }
        }
        let schema = try tenant.schema()
        let budget = services.config.statementBudgets.of(request, endpoint: context.endpointPath)
        // Substring searches cost far more than reads: a tenant runs only a few at once, within
        // its share of search time, and waits for both before it takes a connection.
        if Self.isSearch(request, endpoint: context.endpointPath) {
            let timeout = services.config.database.acquireTimeout
            return try await services.searches.withPermit(tenant.schemaName, timeout: timeout) {
                try await services.searchTime.run(tenant.schemaName, timeout: timeout) {
                    try await authenticateAndRun(request, context: context, tenant: tenant, schema: schema, budget: budget, next: next)
                }
            }
        }
        return try await authenticateAndRun(request, context: context, tenant: tenant, schema: schema, budget: budget, next: next)
    }

    /// A list with `q` or a `contains` / `starts_with` filter.
    static func isSearch(_ request: Request, endpoint: String?) -> Bool {
        guard request.method == .get, let endpoint, endpoint.hasPrefix("/api/v1/records/") || endpoint.hasPrefix("/api/v1/recycle-bin/"),
              endpoint.hasSuffix("{object}") else { return false }
        for (key, _) in request.uri.queryParameters {
            let k = String(key).removingPercentEncoding ?? String(key)
            if k == "q" || k.hasSuffix("[contains]") || k.hasSuffix("[starts_with]") { return true }
        }
        return false
    }

    func authenticateAndRun(_ request: Request, context: Context, tenant: Tenant, schema: TenantSchema, budget: Duration?,
                            next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = BearerToken.from(request) else { throw CRMError.unauthorized }
        guard holdTransaction else {
            let (principal, permissions) = try await services.db.transaction(for: schema, statementTimeout: budget) { tx in
                let principal = try await services.identity.authenticate(bearer: token, in: tx)
                return (principal, try await services.access.permissions(for: principal, in: tenant, tx: tx))
            }
            return try await next(request, authenticated(context, principal, permissions, request, nil))
        }
        if services.config.sessionFunction, !SessionFunction.failing.isFailing(tenant.id) {
            do {
                return try await services.db.transaction(for: schema, statementTimeout: budget, opening: { tx, timeout in
                    try await services.identity.openSession(bearer: token, tenant: schema, timeoutMillis: timeout, in: tx)
                }) { tx, principal in
                    let permissions = try await services.access.permissions(for: principal, in: tenant, tx: tx)
                    return try await next(request, try authenticated(context, principal, permissions, request, tx))
                }
            } catch is SessionFunction.Unavailable {
                // Not generated yet in this tenant, or refused: rebuilt in the background; this
                // request, and the tenant's for a minute, take the two statements it stands for.
                SessionFunction.failing.failed(tenant.id)
                services.oneTrip.functions.rebuildSoon(tenant)
            }
        }
        return try await services.db.transaction(for: schema, statementTimeout: budget) { tx in
            let principal = try await services.identity.authenticate(bearer: token, in: tx)
            let permissions = try await services.access.permissions(for: principal, in: tenant, tx: tx)
            return try await next(request, try authenticated(context, principal, permissions, request, tx))
        }
    }

    func authenticated(_ context: Context, _ principal: Principal, _ permissions: EffectivePermissions, _ request: Request,
                       _ tx: Transaction?) throws -> Context {
        if principal.readOnly, ![.get, .head, .options].contains(request.method) {
            throw CRMError.forbidden("This API token is read-only.")
        }
        if let token = BearerToken.from(request), let tenant = context.tenant {
            services.sessions.put(AccessToken.hash(token), SessionCache.Entry(principal: principal, tenantId: tenant.id))
        }
        var context = context
        context.principal = principal
        context.permissions = permissions
        context.tx = tx
        context.logger[metadataKey: "user"] = .string(principal.user.id.uuidString.lowercased())
        context.logInfo.user = principal.user.id.uuidString.lowercased()
        return context
    }
}

/// Answers `GET /api/v1/records/{object}/{id}` in one round trip when the session, permissions
/// and metadata are cached (see `OneTripRead`); otherwise hands the request on to the ordinary
/// authentication and handler.
struct OneTripReadMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let services: AppServices

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard services.config.oneTripReads, request.method == .get, let tenant = context.tenant, let token = BearerToken.from(request),
              let object = context.parameters.get("object"), let idText = context.parameters.get("id")
        else { return try await next(request, context) }
        guard let id = UUID(uuidString: idText) else { return try await next(request, context) }
        switch try await services.oneTrip.get(object, id: id, bearer: token, tenant: tenant) {
        case .found(let record, let userId):
            context.logInfo.user = userId.uuidString.lowercased()
            return RecordRoutes.json(record.json, version: record.version)
        case .notFound:
            throw CRMError.notFound("No such record.")
        case .fallback:
            return try await next(request, context)
        }
    }
}

/// Authenticates an operator's bearer token for `/ops/v1`.
struct OperatorAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let operators: OperatorIdentity

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = BearerToken.from(request) else { throw CRMError.unauthorized }
        var context = context
        context.operatorPrincipal = try await operators.authenticate(bearer: token)
        context.logInfo.user = "operator:" + (context.operatorPrincipal?.operator.id.uuidString.lowercased() ?? "")
        return try await next(request, context)
    }
}

enum BearerToken {
    static func from(_ request: Request) -> String? {
        guard let value = request.headers[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingSpacesAndTabs
        return token.isEmpty ? nil : token
    }
}
