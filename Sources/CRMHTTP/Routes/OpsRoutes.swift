import CRMCore
import Foundation
import Hummingbird

/// `/ops/v1`: platform operators log in and run tenants and plans.
enum OpsRoutes {
    struct CreateTenantBody: Decodable {
        struct Admin: Decodable {
            var email: String
            var name: String
            var password: String
        }
        var slug: String
        var name: String
        var plan: String
        var admin: Admin
        var timeZone: String?
        var locale: String?

        enum CodingKeys: String, CodingKey {
            case slug, name, plan, admin, locale
            case timeZone = "time_zone"
        }
    }

    struct LegalHoldBody: Decodable {
        var on: Bool
    }

    struct LegalHoldOut: Encodable {
        var slug: String
        var legalHold: Bool
    }

    struct LockBody: Decodable {
        var reason: String
    }

    struct TenantOut: Encodable {
        var id: UUID
        var slug: String
        var name: String
        var status: String
        var plan: String
        var cell: String
        var timeZone: String
        var locale: String
        var seats: Int?
        var createdAt: Date
        var subscription: Plan?
        var usage: TenantUsage?
        /// The operators' lock, apart from `status`; absent when not locked.
        var adminLock: AdminLock?

        init(_ t: Tenant, seats: Int? = nil, plan: Plan? = nil, usage: TenantUsage? = nil) {
            id = t.id; slug = t.slug; name = t.name; status = t.status.rawValue; self.plan = t.plan; cell = t.cell
            timeZone = t.timeZone; locale = t.locale; self.seats = seats ?? usage?.seats; createdAt = t.createdAt
            subscription = plan; self.usage = usage; adminLock = t.adminLock
        }
    }

    static func register(on router: Router<AppRequestContext>, services: AppServices) {
        let limit = services.config.maxBodyBytes
        let ops = router.group("ops/v1")
        ops.post("auth/login") { request, context -> Response in
            let body = try await JSONBody.decode(Credentials.self, from: request, limit: limit)
            let (token, op) = try await services.operators.login(email: body.email, password: body.password, meta: context.meta)
            return try JSONOut.response(LoginOut(token: token.token, expiresAt: token.expiresAt, operator: op))
        }

        let authed = ops.group().add(middleware: OperatorAuthMiddleware(operators: services.operators))
            .add(middleware: IdempotencyMiddleware(services: services, scope: .platform))
        authed.post("auth/logout") { _, context -> Response in
            try await services.operators.logout(try context.requireOperator(), meta: context.meta)
            return Response(status: .noContent)
        }
        authed.post("tenants") { request, context -> Response in
            _ = try context.requireOperator(.ops)
            let body = try await JSONBody.decode(CreateTenantBody.self, from: request, limit: limit)
            let tenant = try await services.tenants.create(
                NewTenant(slug: body.slug, name: body.name, plan: body.plan,
                          admin: .init(email: body.admin.email, name: body.admin.name, password: body.admin.password),
                          timeZone: body.timeZone ?? "UTC", locale: body.locale ?? "en"),
                actor: context.operatorActor(), meta: context.meta)
            return try JSONOut.response(TenantOut(tenant, seats: 1), status: .created)
        }
        authed.get("tenants") { request, context -> Response in
            _ = try context.requireOperator()
            let page = try Pagination(request)
            let cursor = try page.cursor.map { try TenantCursor.decode($0) }
            let rows = try await services.tenants.list(limit: page.limit + 1, after: cursor)
            let data = rows.prefix(page.limit).map { TenantOut($0.0, seats: $0.1) }
            let next = rows.count > page.limit ? rows.prefix(page.limit).last.map { TenantCursor.encode($0.0) } : nil
            return try JSONOut.response(Page(data: Array(data), nextCursor: next))
        }
        authed.get("tenants/:slug") { _, context -> Response in
            _ = try context.requireOperator()
            let (tenant, plan, usage) = try await services.tenants.show(slug: try context.parameters.require("slug"))
            return try JSONOut.response(TenantOut(tenant, plan: plan, usage: usage))
        }
        authed.post("tenants/:slug/suspend") { _, context -> Response in
            _ = try context.requireOperator(.ops)
            let tenant = try await services.tenants.setSuspended(slug: try context.parameters.require("slug"), true,
                                                                 actor: context.operatorActor(), meta: context.meta)
            return try JSONOut.response(TenantOut(tenant))
        }
        authed.post("tenants/:slug/resume") { _, context -> Response in
            _ = try context.requireOperator(.ops)
            let tenant = try await services.tenants.setSuspended(slug: try context.parameters.require("slug"), false,
                                                                 actor: context.operatorActor(), meta: context.meta)
            return try JSONOut.response(TenantOut(tenant))
        }
        authed.post("tenants/:slug/lock") { request, context -> Response in
            _ = try context.requireOperator(.ops)
            let body = try await JSONBody.decode(LockBody.self, from: request, limit: limit)
            let tenant = try await services.tenants.setAdminLock(slug: try context.parameters.require("slug"), reason: body.reason,
                                                                 actor: context.operatorActor(), meta: context.meta)
            return try JSONOut.response(TenantOut(tenant))
        }
        authed.post("tenants/:slug/legal-hold") { request, context -> Response in
            _ = try context.requireOperator(.ops)
            let body = try await JSONBody.decode(LegalHoldBody.self, from: request, limit: limit)
            let tenant = try await services.tenants.setLegalHold(slug: try context.parameters.require("slug"), body.on,
                                                                 actor: context.operatorActor(), meta: context.meta)
            return try JSONOut.response(LegalHoldOut(slug: tenant.slug, legalHold: body.on))
        }
        authed.post("tenants/:slug/unlock") { _, context -> Response in
            _ = try context.requireOperator(.ops)
            let tenant = try await services.tenants.setAdminLock(slug: try context.parameters.require("slug"), reason: nil,
                                                                 actor: context.operatorActor(), meta: context.meta)
            return try JSONOut.response(TenantOut(tenant))
        }
        OpsBillingRoutes.register(on: authed, services: services)
        authed.get("plans") { _, context -> Response in
            _ = try context.requireOperator()
            return try JSONOut.response(Page(data: try await services.tenants.plans(), nextCursor: nil))
        }
        // The document names the plans, so it is for operators, like the API it describes.
        authed.get("openapi.json") { _, context -> Response in
            _ = try context.requireOperator()
            let document = OpsOpenAPI.document(plans: try await services.tenants.plans(),
                                               passwordMinLength: services.config.identity.passwordMinLength)
            return try OpenAPIResponses.response(document)
        }
    }

    struct LoginOut: Encodable {
        var token: String
        var expiresAt: Date?
        var `operator`: Operator
    }

    /// Opaque cursor for the tenant list: the last row's creation time (whole microseconds,
    /// as PostgreSQL keeps it) and id. Anything else is a 400, never a crash.
    enum TenantCursor {
        static func encode(_ t: Tenant) -> String {
            let micros = Int64((t.createdAt.timeIntervalSince1970 * 1_000_000).rounded())
            return Data("\(micros)|\(t.id.uuidString.lowercased())".utf8).base64EncodedString()
        }
        static func decode(_ cursor: String) throws -> (Date, UUID) {
            guard cursor.utf8.count <= 200, let data = Data(base64Encoded: cursor),
                  let text = String(data: data, encoding: .utf8) else { throw bad }
            let parts = text.split(separator: "|")
            guard parts.count == 2, let micros = Int64(parts[0]), (0...253_402_300_799_000_000).contains(micros),
                  let id = UUID(uuidString: String(parts[1])) else { throw bad }
            return (Date(timeIntervalSince1970: Double(micros) / 1_000_000), id)
        }
        static let bad = CRMError.invalid("cursor", "invalid_cursor", "The cursor is not one this API gave out.")
    }
}



/// `limit` (default 50, at most 200) and `cursor` from the query string.
struct Pagination {
    var limit = 50
    var cursor: String?

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        if let raw = query["limit"] {
            guard let value = Int(String(raw)), (1...200).contains(value) else {
                throw CRMError.invalid("limit", "out_of_range", "limit must be a whole number from 1 to 200.")
            }
            limit = value
        }
        cursor = query["cursor"].map(String.init)
    }
}
