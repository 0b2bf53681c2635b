import Foundation
import PostgresNIO

/// SQL for the tenant catalog in the platform schema.
public struct TenantStore: Sendable {
    public init() {}

    // Each query names its columns in full, in the order `fetch` decodes them.

    public func find(slug: String, in tx: Transaction) async throws -> Tenant? {
        try await fetch("""
            SELECT id, slug, name, status, plan_id, cell, schema_name, role_name, time_zone, locale, created_at, schema_versions::text, admin_lock::text
            FROM platform.tenants
            WHERE slug = \(slug) AND status NOT IN ('spare', 'purged')
            """, in: tx).first
    }

    /// The live tenants among `slugs` (the directory's batched lookup).
    public func find(slugs: [String], in tx: Transaction) async throws -> [Tenant] {
        try await fetch("""
            SELECT id, slug, name, status, plan_id, cell, schema_name, role_name, time_zone, locale, created_at, schema_versions::text, admin_lock::text
            FROM platform.tenants
            WHERE slug = ANY(\(slugs)) AND status NOT IN ('spare', 'purged')
            """, in: tx)
    }

    public func find(id: UUID, in tx: Transaction) async throws -> Tenant? {
        try await fetch("""
            SELECT id, slug, name, status, plan_id, cell, schema_name, role_name, time_zone, locale, created_at, schema_versions::text, admin_lock::text
            FROM platform.tenants
            WHERE id = \(id) AND status <> 'spare'
            """, in: tx).first
    }

    /// Tenants ordered by creation, newest first, after an optional cursor (created_at, id).
    public func list(limit: Int, after cursor: (Date, UUID)?, in tx: Transaction) async throws -> [Tenant] {
        if let (at, id) = cursor {
            return try await fetch("""
                SELECT id, slug, name, status, plan_id, cell, schema_name, role_name, time_zone, locale, created_at, schema_versions::text, admin_lock::text
                FROM platform.tenants
                WHERE status NOT IN ('spare', 'purged') AND (created_at, id) < (\(at), \(id))
                ORDER BY created_at DESC, id DESC LIMIT \(limit)
                """, in: tx)
        }
        return try await fetch("""
            SELECT id, slug, name, status, plan_id, cell, schema_name, role_name, time_zone, locale, created_at, schema_versions::text, admin_lock::text
            FROM platform.tenants
            WHERE status NOT IN ('spare', 'purged')
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """, in: tx)
    }

    /// Sets or lifts the operator's lock; `status` is left as it is.
    public func setAdminLock(id: UUID, _ lock: AdminLock?, in tx: Transaction) async throws {
        let json = try lock.map { String(decoding: try Self.lockEncoder.encode($0), as: UTF8.self) }
        try await tx.execute("UPDATE platform.tenants SET admin_lock = \(json)::jsonb, updated_at = now() WHERE id = \(id)")
    }

    static let lockEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        return e
    }()
    static let lockDecoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    public func setStatus(id: UUID, _ status: Tenant.Status, in tx: Transaction) async throws {
        try await tx.execute("UPDATE platform.tenants SET status = \(status.rawValue), updated_at = now() WHERE id = \(id)")
    }

    public func usage(tenantId: UUID, in tx: Transaction) async throws -> TenantUsage {
        let rows = try await tx.query("""
            SELECT seats, records, storage_bytes, api_calls_today FROM platform.tenant_usage WHERE tenant_id = \(tenantId)
            """)
        for try await (seats, records, storage, calls) in rows.decode((Int32, Int64, Int64, Int64).self) {
            return TenantUsage(seats: Int(seats), records: records, storageBytes: storage, apiCallsToday: calls)
        }
        return TenantUsage(seats: 0, records: 0, storageBytes: 0, apiCallsToday: 0)
    }

    public func seats(tenantIds: [UUID], in tx: Transaction) async throws -> [UUID: Int] {
        let rows = try await tx.query("SELECT tenant_id, seats FROM platform.tenant_usage WHERE tenant_id = ANY(\(tenantIds))")
        var out: [UUID: Int] = [:]
        for try await (id, seats) in rows.decode((UUID, Int32).self) { out[id] = Int(seats) }
        return out
    }

    public func plans(in tx: Transaction) async throws -> [Plan] {
        let rows = try await tx.query("""
            SELECT id, name, price_per_seat_minor, currency, modules, limits::text FROM platform.plans ORDER BY price_per_seat_minor
            """)
        var out: [Plan] = []
        for try await (id, name, price, currency, modules, limits) in rows.decode((String, String, Int64, String, [String], String).self) {
            let decoded = (try? JSONDecoder().decode([String: Int64].self, from: Data(limits.utf8))) ?? [:]
            out.append(Plan(id: id, name: name, pricePerSeatMinor: price, currency: currency, modules: modules, limits: decoded))
        }
        return out
    }

    public func plan(id: String, in tx: Transaction) async throws -> Plan? {
        try await plans(in: tx).first { $0.id == id }
    }

    func fetch(_ query: PostgresQuery, in tx: Transaction) async throws -> [Tenant] {
        let rows = try await tx.query(query)
        var out: [Tenant] = []
        for try await (id, slug, name, status, plan, cell, schema, role, tz, locale, created, versions, lock) in rows.decode(
            (UUID, String, String, String, String, String, String, String, String, String, Date, String, String?).self)
        {
            out.append(Tenant(id: id, slug: slug, name: name, status: Tenant.Status(rawValue: status) ?? .suspended,
                              plan: plan, cell: cell, schemaName: schema, roleName: role, timeZone: tz, locale: locale,
                              createdAt: created,
                              schemaVersions: (try? JSONDecoder().decode([String: Int].self, from: Data(versions.utf8))) ?? [:],
                              adminLock: lock.flatMap { try? Self.lockDecoder.decode(AdminLock.self, from: Data($0.utf8)) }))
        }
        return out
    }
}
