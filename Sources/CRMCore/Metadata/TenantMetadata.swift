import Foundation
import PostgresNIO

/// A tenant's objects and fields at one metadata version: what the records engine, the
/// describe calls and the OpenAPI document are built from. Cached until the version moves.
public struct TenantMetadata: Sendable {
    public var version: Int64
    /// The objects of the modules that are on.
    public var objects: [String: ObjectDefinition]
    /// The modules that are on: the always-on ones and those enabled.
    public var enabledModules: Set<String> = []
    /// Objects of modules that are off, by api name → module: kept so that a call naming one
    /// gets `module-disabled` rather than a plain 404.
    public var disabledObjects: [String: String] = [:]
    /// Objects whose writes must also pass guards that read other tables (a record under
    /// approval is locked): the approvals module lists an object here when it first publishes a
    /// process for it. Kept with the metadata, so writes of other objects ask nothing more.
    public var guardedObjects: Set<String> = []

    /// Objects in their display order.
    public var ordered: [ObjectDefinition] { objects.values.sorted { ($0.position, $0.apiName) < ($1.position, $1.apiName) } }

    public func object(_ apiName: String) throws -> ObjectDefinition {
        if let module = disabledObjects[apiName] {
            throw CRMError(.moduleDisabled, "The \(module) module is disabled for this tenant; an admin can enable it again.")
        }
        guard let object = objects[apiName] else { throw CRMError.notFound("No object '\(apiName.prefix(40))'.") }
        return object
    }

    /// Reads every object and field inside a tenant transaction.
    public static func load(version: Int64, in tx: Transaction) async throws -> TenantMetadata {
        var objectRows: [(String, String, String, String, String, Int)] = []
        for try await row in try await tx.query(
            "SELECT api_name, label, plural_label, table_name, module, position FROM objects"
        ).decode((String, String, String, String, String, Int).self) { objectRows.append(row) }
        var live: [String: [FieldDefinition]] = [:], deleted: [String: [FieldDefinition]] = [:]
        let decoder = JSONDecoder()
        let rows = try await tx.query("""
            SELECT object, api_name, label, type, column_name, is_custom, is_system, required, is_unique, filterable,
                   searchable, default_value::text, options::text, position, deleted_at, purge_after
            FROM fields
            """)
        for try await (object, name, label, type, column, custom, system, required, unique, filterable, searchable,
                       defaultValue, options, position, deletedAt, purgeAfter) in rows.decode(
            (String, String, String, String, String, Bool, Bool, Bool, Bool, Bool, Bool, String?, String, Int, Date?, Date?).self)
        {
            guard let type = FieldType(rawValue: type), let column = try? SQLIdentifier(column) else { continue }
            let field = FieldDefinition(
                object: object, apiName: name, label: label, type: type, column: column, isCustom: custom, isSystem: system,
                required: required, unique: unique, filterable: filterable, searchable: searchable,
                defaultValue: defaultValue.flatMap(JSONValue.parse),
                options: (try? decoder.decode(FieldOptions.self, from: Data(options.utf8))) ?? FieldOptions(),
                position: position, deletedAt: deletedAt, purgeAfter: purgeAfter)
            if deletedAt == nil { live[object, default: []].append(field) } else { deleted[object, default: []].append(field) }
        }
        var enabled = Set(ModuleRegistry.standard.modules.filter(\.alwaysOn).map(\.id))
        for try await id in try await tx.query("SELECT id FROM modules WHERE enabled").decode(String.self) { enabled.insert(id) }
        var objects: [String: ObjectDefinition] = [:], disabled: [String: String] = [:]
        for (name, label, plural, table, module, position) in objectRows {
            guard let table = try? SQLIdentifier(table) else { continue }
            guard enabled.contains(module) else {
                disabled[name] = module
                continue
            }
            objects[name] = ObjectDefinition(apiName: name, label: label, pluralLabel: plural, table: table, module: module,
                                             position: position, fields: live[name] ?? [], deletedFields: deleted[name] ?? [])
        }
        // Objects of modules never enabled here have no rows yet; they are off all the same.
        for module in ModuleRegistry.standard.modules where !enabled.contains(module.id) {
            for object in module.objectNames where objects[object] == nil { disabled[object] = disabled[object] ?? module.id }
        }
        var guarded = Set<String>()
        for try await text in try await tx.query("SELECT value::text FROM settings WHERE key = \(GuardedObjects.key)").decode(String.self) {
            if case .array(let names)? = JSONValue.parse(text) { guarded = Set(names.compactMap(\.stringValue)) }
        }
        return TenantMetadata(version: version, objects: objects, enabledModules: enabled, disabledObjects: disabled, guardedObjects: guarded)
    }
}

/// The tenant's guarded objects (`TenantMetadata.guardedObjects`): one row of `settings`.
public enum GuardedObjects {
    public static let key = "records.guarded_objects"

    /// Adds `object`; bumps the metadata version when it was not there, so every instance
    /// starts guarding its writes at its next request.
    public static func add(_ object: String, in tx: Transaction) async throws {
        var current = Set<String>()
        for try await text in try await tx.query("SELECT value::text FROM settings WHERE key = \(key) FOR UPDATE").decode(String.self) {
            if case .array(let names)? = JSONValue.parse(text) { current = Set(names.compactMap(\.stringValue)) }
        }
        guard current.insert(object).inserted else { return }
        let json = JSONValue.array(current.sorted().map { .string($0) }).jsonText
        try await tx.execute("""
            INSERT INTO settings (key, value) VALUES (\(key), \(json)::jsonb)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
            """)
        try await MetadataVersion.bump(in: tx)
    }
}

/// Bumps the tenant's metadata version in the same transaction as a metadata change, so every
/// instance reloads at its next request (the version is read with the token).
public enum MetadataVersion {
    public static func bump(in tx: Transaction) async throws {
        try await tx.execute("""
            INSERT INTO settings (key, value) VALUES ('metadata_version', '2'::jsonb)
            ON CONFLICT (key) DO UPDATE SET value = to_jsonb((settings.value #>> '{}')::bigint + 1), updated_at = now()
            """)
    }
}

/// Each tenant's metadata at its latest version seen, for the `capacity` tenants used most
/// recently (`CRM_CACHED_TENANTS`): a tenant not used for a while is reloaded when it comes back.
public final class MetadataCache: Sendable {
    private let entries: LRUCache<UUID, TenantMetadata>

    public init(capacity: Int = MetadataCache.defaultCapacity) { entries = LRUCache(capacity: capacity) }

    public static let defaultCapacity = 1_000

    public func metadata(tenant: UUID, version: Int64, load: @Sendable () async throws -> TenantMetadata) async throws -> TenantMetadata {
        if let hit = entries.get(tenant), hit.version == version { return hit }
        let loaded = try await load()
        // Never replace a newer version another request loaded meanwhile.
        entries.update(tenant) { current in (current?.version ?? Int64.min) <= loaded.version ? loaded : current }
        return loaded
    }

    /// A cached entry at exactly `version`, without loading: for the one-round-trip read path.
    public func cached(tenant: UUID, version: Int64) -> TenantMetadata? {
        entries.get(tenant).flatMap { $0.version == version ? $0 : nil }
    }

    public func latest(tenant: UUID) -> TenantMetadata? { entries.get(tenant) }

    /// Tenants held now.
    public var count: Int { entries.count }
}
