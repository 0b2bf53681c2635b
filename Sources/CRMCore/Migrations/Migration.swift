/// One versioned change to a schema: our own SQL, run in one transaction with the others that
/// a run applies. Tenant migrations are written expand-then-contract (add, backfill, switch
/// readers, only then drop), because the server keeps running while tenants are on mixed versions.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String
    public init(_ version: Int, _ name: String, _ sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// A named, ordered list of migrations: the platform's, or one module's tenant tables.
public struct MigrationScope: Sendable {
    public let id: String
    public let migrations: [Migration]

    public init(id: String, migrations: [Migration]) {
        precondition(migrations.map(\.version) == Array(1...migrations.count), "versions of \(id) must be 1, 2, 3, …")
        self.id = id
        self.migrations = migrations
    }

    public var head: Int { migrations.last?.version ?? 0 }

    public func pending(after version: Int) -> [Migration] { migrations.filter { $0.version > version } }
}
