import Foundation

/// A company's entry in the platform catalog.
public struct Tenant: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case spare, trial, active, pastDue = "past_due", suspended, cancelled, purged

        /// Whether the tenant's users may change data.
        public var acceptsWrites: Bool { self == .trial || self == .active || self == .pastDue }
    }

    public var id: UUID
    public var slug: String
    public var name: String
    public var status: Status
    public var plan: String
    public var cell: String
    public var schemaName: String
    public var roleName: String
    public var timeZone: String
    public var locale: String
    public var createdAt: Date
    /// Migration versions per scope, from the catalog: code that runs while tenants are on mixed
    /// versions asks `has(_:)` with a named `SchemaFeature` before using newer tables.
    public var schemaVersions: [String: Int] = [:]
    /// An operator's lock, apart from `status`: while set, every request of the tenant is refused.
    public var adminLock: AdminLock?

    /// The schema and role a transaction for this tenant switches into.
    public func schema() throws -> TenantSchema {
        TenantSchema(schema: try SQLIdentifier(schemaName), role: try SQLIdentifier(roleName))
    }

    public static func schemaName(for id: UUID) -> String { "t_" + id.compactHex }
    public static func roleName(for id: UUID) -> String { "crm_t_" + id.compactHex }
}

/// Why and since when an operator locked a tenant (fraud, a move between cells, a legal order).
public struct AdminLock: Sendable, Codable, Equatable {
    public var reason: String
    public var at: Date
    public var by: String?

    public init(reason: String, at: Date, by: String?) {
        self.reason = reason
        self.at = at
        self.by = by
    }
}

/// A plan: price per seat, the modules it includes and its limits.
public struct Plan: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var pricePerSeatMinor: Int64
    public var currency: String
    public var modules: [String]
    public var limits: [String: Int64]
}

/// A tenant's usage counters, kept in the platform catalog.
public struct TenantUsage: Sendable, Codable, Equatable {
    public var seats: Int
    public var records: Int64
    public var storageBytes: Int64
    public var apiCallsToday: Int64
}

extension Tenant {
    /// The tenant's time zone (UTC when its name is unknown to this system).
    public var zone: TimeZone { TimeZone(identifier: timeZone) ?? .gmt }
}
