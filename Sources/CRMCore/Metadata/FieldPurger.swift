import Foundation
import Logging

/// Drops the columns of custom fields whose retention has ended, tenant by tenant: run by
/// `crm fields purge` and hourly by the server. A failing tenant is logged; the rest go on.
public struct FieldPurger: Sendable {
    let db: Database
    let tenants: TenantService
    let fields: FieldAdminService

    public init(db: Database, tenants: TenantService, fields: FieldAdminService) {
        self.db = db
        self.tenants = tenants
        self.fields = fields
    }

    /// Purges every tenant; returns the fields dropped (`slug: object.field`) and the failures.
    public func purgeAll(logger: Logger) async throws -> (purged: [String], failed: [String]) {
        var purged: [String] = [], failed: [String] = []
        var cursor: (Date, UUID)?
        while true {
            let page = try await tenants.list(limit: 500, after: cursor)
            guard let last = page.last?.0 else { break }
            cursor = (last.createdAt, last.id)
            for (tenant, _) in page where tenant.status != .spare && tenant.status != .purged && tenant.has(.metadata) {
                do {
                    let schema = try tenant.schema()
                    let dropped = try await db.transaction(for: schema) { tx in try await fields.purgeExpired(tenant: schema, in: tx) }
                    purged += dropped.map { "\(tenant.slug): \($0)" }
                } catch {
                    logger.error("field purge failed", metadata: ["tenant": .string(tenant.slug), "error": .string("\(error)")])
                    failed.append(tenant.slug)
                }
            }
        }
        return (purged, failed)
    }
}
