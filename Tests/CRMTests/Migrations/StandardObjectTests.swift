@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

/// The standard objects' declarations are the source of truth: the released migrations must
/// build exactly what they say (tables, indexes, metadata rows, default forms, built-in role
/// grants), and the first migration generated from each is kept as reviewed text.
@Suite("Standard object declarations")
struct StandardObjectTests {
    @Test("a fresh tenant with every module on has exactly the tables, indexes and metadata the declarations say")
    func migrationsAgreeWithDeclarations() async throws {
        let services = try await TestEnvironment.shared.services()
        let registry = ModuleRegistry.standard
        let schema = try await SchemaSnapshotTests.fullTenant(services)
        let (released, releasedMetadata) = try await services.db.transaction(for: schema) { tx in
            (try await SchemaSnapshotTests.tables(in: tx), try await Self.metadataDifferences(registry.standardObjects, in: tx))
        }
        let (declared, generatedMetadata) = try await Self.declaredSchema(registry, services: services)
        var differences = releasedMetadata.map { "migrations: " + $0 }
        differences += generatedMetadata.map { "generated SQL: " + $0 }
        differences += Self.tableDifferences(released: released, releasedSchema: schema.schema.name, declared: declared.tables,
                                             declaredSchema: declared.schema, objects: registry.standardObjects)
        for difference in differences { Issue.record(Comment(rawValue: difference)) }
        #expect(released.count > 0 && declared.tables.count > 0)
    }

    @Test("the first migration generated from every standard object's declaration matches its snapshot")
    func generatedSQL() throws {
        let registry = ModuleRegistry.standard
        var files: [String: String] = [:]
        for object in registry.standardObjects { files["\(object.apiName).sql"] = try registry.objectSQL(object.apiName) }
        for module in registry.modules {
            for ext in module.objectExtensions {
                files["\(module.id)-extends-\(ext.object).sql"] = StandardObjectSQL.extend(ext, table: registry.objectTables[ext.object]!)
            }
        }
        #expect(files["customer.sql"]?.contains("CREATE TABLE customers (") == true)
        try Snapshot.check(folder: "objects", files)
    }

    @Test("a lookup to an object nobody declares is refused by the generator, not written as a dangling reference")
    func unknownLookupTarget() throws {
        let object = StandardObject(apiName: "memo", label: "Memo", pluralLabel: "Memos", table: "memos", module: "m", position: 1,
                                    fields: [StandardField("ghost_id", "Ghost", .lookup, options: .target("ghost"), position: 1)])
        #expect(throws: CRMError.self) { try StandardObjectSQL.migration(object, tables: [:]) }
    }

    // MARK: - The schema the declarations describe

    /// Core's migrations, then the SQL generated from every declaration, in a scratch schema:
    /// its tables as `SchemaSnapshotTests.tables` renders them, and what differs between its
    /// metadata rows and the declarations (the generator's INSERTs checked too).
    static func declaredSchema(_ registry: ModuleRegistry, services: AppServices)
        async throws -> (tables: (schema: String, tables: [String: String]), metadata: [String])
    {
        let scratch = try SQLIdentifier("declared_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
        let sql = try StandardObjectSQL.migration(registry.standardObjects, extensions: registry.modules.flatMap(\.objectExtensions),
                                                  tables: registry.objectTables)
        let modules = registry.modules.filter { !$0.alwaysOn }
            .map { "INSERT INTO modules (id, enabled) VALUES (\(SQLIdentifier.literal($0.id)), true);" }.joined(separator: "\n")
        return try await services.db.ownerTransaction { tx in
            try await tx.runScript("CREATE SCHEMA \(scratch.quoted)")
            try await tx.execute("SELECT set_config('search_path', \(scratch.name), true)")
            for migration in TenantMigrations.core.migrations { try await tx.runScript(migration.sql) }
            try await tx.runScript(sql + "\n" + modules)
            let tables = try await SchemaSnapshotTests.tables(in: tx)
            let metadata = try await metadataDifferences(registry.standardObjects, in: tx)
            try await tx.runScript("DROP SCHEMA \(scratch.quoted) CASCADE")
            return ((scratch.name, tables), metadata)
        }
    }

    // MARK: - Comparisons

    /// Each column, constraint and index of the declared objects' tables that is not the same in
    /// both schemas, named with both versions. Triggers are the migrations' own (behaviour, not
    /// shape) and kept by the schema snapshot.
    static func tableDifferences(released: [String: String], releasedSchema: String, declared: [String: String], declaredSchema: String,
                                 objects: [StandardObject]) -> [String] {
        var out: [String] = []
        for table in objects.map(\.table) {
            let mine = items(released["\(table).sql"] ?? "", schema: releasedSchema)
            let theirs = items(declared["\(table).sql"] ?? "", schema: declaredSchema)
            if mine.isEmpty { out.append("table \(table): the migrations do not create it") }
            for key in Set(mine.keys).union(theirs.keys).sorted() where mine[key] != theirs[key] {
                out.append("table \(table), \(key): the migrations have \(mine[key].map { "`\($0)`" } ?? "nothing"), "
                           + "the declaration says \(theirs[key].map { "`\($0)`" } ?? "nothing")")
            }
        }
        return out
    }

    /// A table's DDL as keyed lines: `column x`, `constraint x`, `index x`.
    static func items(_ ddl: String, schema: String) -> [String: String] {
        var out: [String: String] = [:]
        for raw in ddl.split(separator: "\n") {
            var line = raw.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\(schema).", with: "")
            if line.hasSuffix(",") || line.hasSuffix(";") { line.removeLast() }
            let words = line.split(separator: " ").map(String.init)
            guard let first = words.first, !line.hasPrefix("CREATE TABLE"), line != ")" else { continue }
            if line.hasPrefix("CREATE TRIGGER") { continue }
            if line.hasPrefix("ALTER TABLE"), let i = words.firstIndex(of: "CONSTRAINT"), i + 1 < words.count {
                out["constraint \(words[i + 1])"] = line
            } else if line.hasPrefix("CREATE"), let i = words.firstIndex(of: "INDEX"), i + 1 < words.count {
                out["index \(words[i + 1])"] = line
            } else {
                out["column \(first)"] = line
            }
        }
        return out
    }

    /// What differs between the metadata rows of the schema `tx` is in and the declarations:
    /// objects, fields (options and picklist values included), default forms, built-in role grants.
    static func metadataDifferences(_ objects: [StandardObject], in tx: Transaction) async throws -> [String] {
        var out: [String] = []
        let metadata = try await TenantMetadata.load(version: 0, in: tx)
        let declaredNames = Set(objects.map(\.apiName))
        for name in metadata.objects.keys.sorted() where !declaredNames.contains(name) {
            out.append("object \(name) has rows but no declaration")
        }
        for object in objects {
            guard let row = metadata.objects[object.apiName] else {
                out.append("object \(object.apiName): no objects row")
                continue
            }
            func compare<T: Equatable>(_ what: String, _ stored: T, _ declared: T) {
                if stored != declared { out.append("\(what): stored \(stored), declared \(declared)") }
            }
            compare("object \(object.apiName) label", row.label, object.label)
            compare("object \(object.apiName) plural label", row.pluralLabel, object.pluralLabel)
            compare("object \(object.apiName) table", row.table.name, object.table)
            compare("object \(object.apiName) module", row.module, object.module)
            compare("object \(object.apiName) position", row.position, object.position)
            let stored = row.fields.filter { !FieldDefinition.systemNames.contains($0.apiName) }
            for field in stored where object.field(field.apiName) == nil {
                out.append("field \(object.apiName).\(field.apiName) has a row but no declaration")
            }
            for field in object.fields {
                guard let s = row.field(field.apiName), !FieldDefinition.systemNames.contains(field.apiName) else {
                    out.append("field \(object.apiName).\(field.apiName): no fields row")
                    continue
                }
                let d = try field.definition(object: object.apiName)
                let at = "field \(object.apiName).\(field.apiName)"
                compare("\(at) label", s.label, d.label)
                compare("\(at) type", s.type.rawValue, d.type.rawValue)
                compare("\(at) column", s.column.name, d.column.name)
                compare("\(at) required", s.required, d.required)
                compare("\(at) is_system", s.isSystem, d.isSystem)
                compare("\(at) is_unique", s.unique, d.unique)
                compare("\(at) filterable", s.filterable, d.filterable)
                compare("\(at) searchable", s.searchable, d.searchable)
                compare("\(at) custom", s.isCustom, false)
                compare("\(at) position", s.position, d.position)
                compare("\(at) default value", s.defaultValue.map(StandardObjectSQL.json) ?? "none", d.defaultValue.map(StandardObjectSQL.json) ?? "none")
                compare("\(at) options", StandardObjectSQL.json(s.options), StandardObjectSQL.json(d.options))
            }
        }
        // Default forms: a row without a role exactly where the declaration has a layout.
        var layouts: [String: [LayoutService.Section]] = [:]
        for try await (object, sections) in try await tx.query("SELECT object, sections::text FROM layouts WHERE role_id IS NULL")
            .decode((String, String).self) {
            layouts[object] = (try? JSONDecoder().decode([LayoutService.Section].self, from: Data(sections.utf8))) ?? []
        }
        for object in objects where layouts[object.apiName] != object.layout {
            out.append("object \(object.apiName) default layout: stored \(layouts[object.apiName].map { "\($0)" } ?? "none"), "
                       + "declared \(object.layout.map { "\($0)" } ?? "none")")
        }
        // Built-in roles: the wider of their `*` grant and their grant on the object.
        var grants: [String: [String: [Action: RecordScope]]] = [:]
        for try await (role, object, action, scope) in try await tx.query("""
            SELECT r.builtin, p.object, p.action, p.scope FROM role_permissions p JOIN roles r ON r.id = p.role_id
            WHERE r.builtin IS NOT NULL
            """).decode((String, String, String, String).self) {
            guard let action = Action(rawValue: action), let scope = RecordScope(rawValue: scope) else {
                out.append("built-in role \(role) has an unknown grant \(action)/\(scope) on \(object)")
                continue
            }
            grants[role, default: [:]][object, default: [:]][action] = scope
        }
        for object in objects {
            for role in Set(grants.keys).union(object.grants.scopes.keys).sorted() {
                let effective = (grants[role]?[AccessObjects.wildcard] ?? [:]).merging(grants[role]?[object.apiName] ?? [:]) { max($0, $1) }
                let declared = object.grants.scopes[role] ?? [:]
                for action in Action.allCases where effective[action] != declared[action] {
                    out.append("object \(object.apiName), built-in role \(role), \(action.rawValue): stored "
                               + "\(effective[action]?.rawValue ?? "none"), declared \(declared[action]?.rawValue ?? "none")")
                }
            }
        }
        return out
    }
}
