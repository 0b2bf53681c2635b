@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

/// The schema as reviewed text: the tables and functions of a tenant with every module on, the
/// platform's tables, and the generated one-trip read function of each standard object, one
/// file each under Tests/CRMTests/Snapshots/. A change to a migration, to the generated read
/// functions or to anything else that shapes the schema shows up as a diff of these files.
@Suite("Schema snapshots")
struct SchemaSnapshotTests {
    /// Stands for the tenant's schema and role in the snapshots (their names differ per tenant).
    static let schemaPlaceholder = "tenant_schema", rolePlaceholder = "tenant_role"

    /// A fresh tenant with every module's migrations applied and every module on.
    static func fullTenant(_ services: AppServices) async throws -> TenantSchema {
        let t = try await Fixtures.tenant(services)
        let schema = try t.tenant.schema()
        try await services.db.ownerTransaction(searchPath: schema.schema) { tx in
            var current: [String: Int] = [:]
            for try await (scope, version) in try await tx.query("SELECT scope, max(version)::int4 FROM schema_migrations GROUP BY scope")
                .decode((String, Int32).self) { current[scope] = Int(version) }
            _ = try await MigrationRunner.apply(scopes: TenantMigrations.all, current: &current, in: tx)
            for module in ModuleRegistry.standard.modules where !module.alwaysOn {
                try await tx.execute("INSERT INTO modules (id, enabled) VALUES (\(module.id), true)")
            }
            try await RecordReadFunction.install(schema, in: tx)
        }
        return schema
    }

    @Test("every table and function of a tenant schema with all modules matches its snapshot")
    func tenantSchema() async throws {
        let services = try await TestEnvironment.shared.services()
        let schema = try await Self.fullTenant(services)
        let (tables, functions) = try await services.db.transaction(for: schema) { tx in
            (try await Self.tables(in: tx), try await Self.functions(in: tx, skipping: "crm_read_"))
        }
        let normalize = { (text: String) in
            text.replacingOccurrences(of: schema.schema.name, with: Self.schemaPlaceholder)
                .replacingOccurrences(of: schema.role.name, with: Self.rolePlaceholder)
        }
        #expect(tables.keys.contains("customers.sql") && functions.keys.contains("crm_lead_check.sql"))
        try Snapshot.check(folder: "tenant/tables", tables.mapValues(normalize))
        try Snapshot.check(folder: "tenant/functions", functions.mapValues(normalize))
    }

    @Test("the generated one-trip read function of every standard object matches its snapshot")
    func readFunctions() async throws {
        let services = try await TestEnvironment.shared.services()
        let schema = try await Self.fullTenant(services)
        let metadata = try await services.db.transaction(for: schema) { tx in try await TenantMetadata.load(version: 1, in: tx) }
        let placeholder = TenantSchema(schema: try SQLIdentifier(Self.schemaPlaceholder), role: try SQLIdentifier(Self.rolePlaceholder))
        var files: [String: String] = [:]
        for object in metadata.ordered {
            files["crm_read_\(object.apiName).sql"] = try RecordReadFunction.ddl(object, tenant: placeholder, version: 1)
        }
        #expect(files.count == ModuleRegistry.standard.modules.flatMap(\.objectNames).count)
        try Snapshot.check(folder: "tenant/read-functions", files)
    }

    @Test("every table of the platform schema matches its snapshot")
    func platformSchema() async throws {
        let services = try await TestEnvironment.shared.services()
        let tables = try await services.db.platformTransaction(searchPath: try SQLIdentifier("platform")) { tx in
            try await Self.tables(in: tx)
        }
        try Snapshot.check(folder: "platform/tables", tables)
    }

    /// Each table of the schema first on the search_path as DDL PostgreSQL would accept: columns
    /// in order, then constraints, other indexes and triggers, each sorted by name.
    static func tables(in tx: Transaction) async throws -> [String: String] {
        var names: [String] = []
        for try await name in try await tx.query("""
            SELECT relname::text FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p')
            """).decode(String.self) { names.append(name) }
        var out: [String: String] = [:]
        for name in names {
            var columns: [String] = []
            for try await column in try await tx.query("""
                SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                    || CASE WHEN a.attcollation <> t.typcollation THEN ' COLLATE ' || quote_ident(co.collname) ELSE '' END
                    || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END
                    || CASE WHEN a.attgenerated = 's' THEN ' GENERATED ALWAYS AS (' || pg_get_expr(d.adbin, d.adrelid) || ') STORED'
                            WHEN d.adbin IS NOT NULL THEN ' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid) ELSE '' END
                    || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                LEFT JOIN pg_collation co ON co.oid = a.attcollation
                LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = (quote_ident(current_schema()) || '.' || quote_ident(\(name)))::regclass AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY a.attnum
                """).decode(String.self) { columns.append(column) }
            var text = "CREATE TABLE \(name) (\n    " + columns.joined(separator: ",\n    ") + "\n);\n"
            for try await line in try await tx.query("""
                SELECT x FROM (
                    SELECT 1, conname::text, 'ALTER TABLE ' || quote_ident(\(name)) || ' ADD CONSTRAINT ' || quote_ident(conname) || ' ' || pg_get_constraintdef(oid)
                    FROM pg_constraint WHERE conrelid = (quote_ident(current_schema()) || '.' || quote_ident(\(name)))::regclass
                    UNION ALL
                    SELECT 2, i.relname::text, pg_get_indexdef(x.indexrelid)
                    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                    WHERE x.indrelid = (quote_ident(current_schema()) || '.' || quote_ident(\(name)))::regclass
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
                    UNION ALL
                    SELECT 3, tgname::text, pg_get_triggerdef(oid)
                    FROM pg_trigger WHERE tgrelid = (quote_ident(current_schema()) || '.' || quote_ident(\(name)))::regclass AND NOT tgisinternal
                ) AS s(kind, name, x) ORDER BY kind, name COLLATE "C"
                """).decode(String.self) { text += line + ";\n" }
            out["\(name).sql"] = text
        }
        return out
    }

    /// The definition of each function of the schema first on the search_path, as PostgreSQL holds it.
    static func functions(in tx: Transaction, skipping prefix: String) async throws -> [String: String] {
        var out: [String: String] = [:]
        for try await (name, definition) in try await tx.query("""
            SELECT proname::text, pg_get_functiondef(oid) FROM pg_proc
            WHERE pronamespace = current_schema()::regnamespace ORDER BY proname, oid::regprocedure::text
            """).decode((String, String).self) where !name.hasPrefix(prefix) {
            out["\(name).sql", default: ""] += definition.hasSuffix("\n") ? definition : definition + "\n"
        }
        return out
    }
}
