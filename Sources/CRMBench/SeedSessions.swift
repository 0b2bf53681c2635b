import ArgumentParser
import CRMCore
import Foundation
import NIOCore

/// Many tenants for wrk to read across: gives up to N of the tenants `seed-tenants` made an admin
/// with an API token and one customer, and prints one `slug token customer-id` line for each.
struct SeedSessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-sessions",
        abstract: "Gives bench tenants an admin with an API token and a customer; prints 'slug token customer-id' lines.")
    @Option var tenants = 1000
    @Option var concurrency = 4

    func run() async throws {
        try await withBenchServices { services in
            let found: [Tenant] = try await services.db.platformTransaction { tx in
                var ids: [UUID] = []
                for try await id in try await tx.query("""
                    SELECT id FROM platform.tenants WHERE slug LIKE 'bench-%' AND status = 'active' AND name LIKE 'Bench %'
                    ORDER BY created_at LIMIT \(tenants)
                    """).decode(UUID.self) { ids.append(id) }
                var out: [Tenant] = []
                for id in ids { if let t = try await TenantStore().find(id: id, in: tx) { out.append(t) } }
                return out
            }
            try await withThrowingTaskGroup(of: String.self) { group in
                var next = 0
                func add() {
                    guard next < found.count else { return }
                    let tenant = found[next]
                    next += 1
                    group.addTask { try await Self.seed(tenant, services) }
                }
                for _ in 0..<concurrency { add() }
                while let line = try await group.next() {
                    print(line)
                    add()
                }
            }
        }
    }

    static func seed(_ tenant: Tenant, _ services: AppServices) async throws -> String {
        let schema = try tenant.schema()
        let now = Date()
        let token = AccessToken.generate(prefix: AccessToken.apiPrefix)
        let customer = UUID()
        try await services.db.ownerTransaction(searchPath: schema.schema) { tx in
            let admin = UUID()
            try await tx.execute("""
                INSERT INTO users (id, email, name, is_active, is_admin, created_at, updated_at)
                VALUES (\(admin), \("bench-\(admin.compactHex.prefix(8))@bench.example"), 'Bench', true, true, now(), now())
                """)
            try await tx.execute("INSERT INTO user_roles (user_id, role_id) SELECT \(admin), id FROM roles WHERE builtin = 'tenant_admin'")
            try await UserStore().insertToken(id: UUID(), userId: admin, kind: "api", name: "bench", hash: AccessToken.hash(token),
                                              readOnly: false, now: now, expiresAt: nil, clientAddress: "127.0.0.1", in: tx)
            try await tx.execute("INSERT INTO customers (id, owner_id, name, kind) VALUES (\(customer), \(admin), \("Customer of " + tenant.slug), 'company')")
        }
        return "\(tenant.slug) \(token) \(customer.uuidString.lowercased())"
    }
}
