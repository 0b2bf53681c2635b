import Foundation
import PostgresNIO

/// Custom fields: each is a real typed column `cf_<api_name>` added to the object's table in
/// the same transaction as its metadata row (indexed when filterable). Deleting hides the field
/// and keeps the column until the retention period ends; `purgeExpired` then drops it.
public struct FieldAdminService: Sendable {
    let ownerRole: SQLIdentifier
    let clock: any WallClock
    public let maxCustomFields: Int
    public let retention: TimeInterval
    let audit = AuditLog()

    public init(ownerRole: SQLIdentifier, clock: any WallClock, maxCustomFields: Int = 200, retention: TimeInterval = 30 * 86_400) {
        self.ownerRole = ownerRole
        self.clock = clock
        self.maxCustomFields = maxCustomFields
        self.retention = retention
    }

    /// What an admin sends to add or change a field.
    public struct Input: Sendable, Decodable {
        public var apiName: String?
        public var label: String?
        public var type: String?
        public var required: Bool?
        public var unique: Bool?
        public var filterable: Bool?
        public var searchable: Bool?
        public var `default`: JSONValue?
        public var options: FieldOptions?
        enum CodingKeys: String, CodingKey {
            case apiName = "api_name", label, type, required, unique, filterable, searchable, `default`, options
        }
        public init() {}
    }

    /// The field as the admin API shows it.
    public struct View: Sendable, Codable {
        public var apiName: String
        public var label: String
        public var type: String
        public var custom: Bool
        public var required: Bool
        public var unique: Bool
        public var filterable: Bool
        public var searchable: Bool
        public var readOnly: Bool
        public var `default`: JSONValue?
        public var options: FieldOptions
        public var deletedAt: Date?
        public var restorableUntil: Date?

        public init(_ f: FieldDefinition) {
            apiName = f.apiName; label = f.label; type = f.type.rawValue; custom = f.isCustom; required = f.required
            unique = f.unique; filterable = f.filterable; searchable = f.searchable; readOnly = f.isSystem
            self.default = f.defaultValue; options = f.options; deletedAt = f.deletedAt; restorableUntil = f.purgeAfter
        }
    }

    /// Names a custom field may not take: the system fields, list parameters and soft-delete columns.
    static let reserved: Set<String> = FieldDefinition.systemNames.union([
        "limit", "cursor", "sort", "q", "filter", "created_by", "updated_by", "deleted_at", "deleted_by", "overview", "history",
    ])

    static func checkApiName(_ name: String?, into errors: inout FieldErrors) -> String? {
        guard let name, !name.isEmpty else { errors.add("api_name", "required", "This field is required."); return nil }
        guard isApiName(name) else {
            errors.add("api_name", "invalid_api_name", "snake_case: a lower-case letter, then letters, digits and single underscores; at most 40.")
            return nil
        }
        if reserved.contains(name) { errors.add("api_name", "reserved", "'\(name)' is reserved."); return nil }
        return name
    }

    /// snake_case of at most 40 bytes: a lower-case ASCII letter, then lower-case letters, digits
    /// and single underscores, not ending in one. Checked byte by byte: a regular expression's `$`
    /// also matched before a trailing newline, which let `"abc\n"` through.
    static func isApiName(_ name: String) -> Bool {
        guard name.utf8.count <= 40 else { return false }
        let bytes = Array(name.utf8)
        guard let first = bytes.first, (0x61...0x7A).contains(first), bytes.last != 0x5F else { return false }
        var previous: UInt8 = 0
        for b in bytes {
            guard (0x61...0x7A).contains(b) || (0x30...0x39).contains(b) || b == 0x5F else { return false }
            if b == 0x5F && previous == 0x5F { return false }
            previous = b
        }
        return true
    }

    public func add(_ objectName: String, input: Input, tenant: TenantSchema, metadata: TenantMetadata, actor: Principal,
                    meta: RequestMeta, in tx: Transaction) async throws -> View {
        let object = try metadata.object(objectName)
        var errors = FieldErrors()
        let apiName = Self.checkApiName(input.apiName, into: &errors)
        let label = TextRules.check(input.label ?? "", field: "label", max: 100, into: &errors)
        var type: FieldType?
        if let raw = input.type {
            type = FieldType.custom.first { $0.rawValue == raw }
            if type == nil { errors.add("type", "invalid_value", "One of: \(FieldType.custom.map(\.rawValue).joined(separator: ", ")).") }
        } else { errors.add("type", "required", "This field is required.") }
        var field: FieldDefinition?
        if let apiName, let type {
            var f = FieldDefinition(object: objectName, apiName: apiName, label: label, type: type,
                                    column: try SQLIdentifier("cf_" + apiName), isCustom: true, isSystem: false,
                                    required: input.required ?? false, unique: input.unique ?? false,
                                    filterable: input.filterable ?? true, searchable: input.searchable ?? type.searchableByDefault,
                                    defaultValue: input.default.flatMap { $0.isNull ? nil : $0 }, options: input.options ?? FieldOptions(),
                                    position: (object.fields.map(\.position).max() ?? 0) + 1)
            Self.checkOptions(&f, metadata: metadata, into: &errors)
            if f.unique && [FieldType.longText, .multiPicklist, .tags, .boolean].contains(type) {
                errors.add("unique", "invalid_value", "A \(type.rawValue) field cannot be unique.")
            }
            field = f
        }
        try errors.throwIfAny()
        guard let field else { throw CRMError(.invalidInput, "Invalid field.") }
        if object.field(field.apiName) != nil || object.deletedFields.contains(where: { $0.apiName == field.apiName }) {
            throw CRMError(.conflict, "\(object.label) already has a field '\(field.apiName)' (a deleted one keeps its name until purged).",
                           fieldErrors: [FieldError(field: "api_name", code: "duplicate", message: "Already taken on this object.")])
        }
        if object.customFieldCount >= maxCustomFields {
            throw CRMError.conflict("\(object.label) has \(maxCustomFields) custom fields (deleted ones count until purged); that is the limit.")
        }
        let table = object.table, column = field.column
        var ddl = "ALTER TABLE \(table.quoted) ADD COLUMN \(column.quoted) \(RecordSQL.columnType(field))"
        if field.type == .lookup, let target = field.options.target.flatMap({ metadata.objects[$0] }) {
            ddl += " REFERENCES \(target.table.quoted)(id)"
        }
        var statements = [ddl]
        statements += Self.indexes(field, table: table)
        try await tx.asOwner {
            for sql in statements { try await tx.execute(PostgresQuery(unsafeSQL: sql)) }
        }
        try await tx.execute("""
            INSERT INTO fields (object, api_name, label, type, column_name, is_custom, required, is_unique, filterable, searchable,
                                default_value, options, position)
            VALUES (\(objectName), \(field.apiName), \(field.label), \(field.type.rawValue), \(column.name), true, \(field.required),
                    \(field.unique), \(field.filterable), \(field.searchable), \(field.defaultValue?.jsonText)::jsonb,
                    \(Self.json(field.options))::jsonb, \(field.position))
            """)
        try await bumpVersion(tenant, in: tx)
        try await audit.record(AuditEntry(actorType: "user", actorId: actor.user.id, actorLabel: actor.user.email, action: "field.create",
                                          targetType: "field", targetId: "\(objectName).\(field.apiName)",
                                          details: ["type": field.type.rawValue]), meta: meta, at: clock.now(), in: tx)
        return View(field)
    }

    /// Indexes of a new custom field: b-tree when filterable, unique among live records when
    /// unique, trigram for substring search when searchable.
    static func indexes(_ field: FieldDefinition, table: SQLIdentifier) -> [String] {
        let c = field.column.quoted
        func name(_ suffix: String) -> String { SQLIdentifier.quote(RecordTable.indexName(table: table, column: field.column, suffix)) }
        var out: [String] = []
        if field.unique {
            out.append("CREATE UNIQUE INDEX \(name("key")) ON \(table.quoted) (\(c)) WHERE deleted_at IS NULL")
        } else if field.filterable {
            if field.type == .multiPicklist {
                out.append("CREATE INDEX \(name("idx")) ON \(table.quoted) USING gin (\(c))")
            } else if field.type == .tags {
                // Untagged records are NULL and stay out of the index (`@>` implies NOT NULL).
                out.append("CREATE INDEX \(name("idx")) ON \(table.quoted) USING gin (\(c)) WHERE \(c) IS NOT NULL AND deleted_at IS NULL")
            } else if field.type != .longText {
                out.append("CREATE INDEX \(name("idx")) ON \(table.quoted) (\(c), id) WHERE deleted_at IS NULL")
            }
        }
        if field.searchable && field.type.isText && field.type != .picklist {
            out.append("CREATE INDEX \(name("trgm")) ON \(table.quoted) USING gin (\(c) ext.gin_trgm_ops)")
        }
        return out
    }

    static func json(_ options: FieldOptions) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(options)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Checks the per-type options and the default of `field`, normalizing them.
    static func checkOptions(_ field: inout FieldDefinition, metadata: TenantMetadata, into errors: inout FieldErrors) {
        var o = field.options
        switch field.type {
        case .text, .email, .phone, .url:
            if let n = o.maxLength, !(1...FieldValueParser.maxText).contains(n) {
                errors.add("options.max_length", "out_of_range", "From 1 to \(FieldValueParser.maxText).")
            }
        case .tags:
            if let n = o.maxLength, !(1...100).contains(n) { errors.add("options.max_length", "out_of_range", "From 1 to 100.") }
        case .longText:
            if let n = o.maxLength, !(1...FieldValueParser.maxLongText).contains(n) {
                errors.add("options.max_length", "out_of_range", "From 1 to \(FieldValueParser.maxLongText).")
            }
        case .decimal, .currency, .percent:
            let (p, s) = FieldValueParser.numericShape(field)
            if !(1...38).contains(p) { errors.add("options.precision", "out_of_range", "From 1 to 38.") }
            if !(0...min(p, 12)).contains(s) { errors.add("options.scale", "out_of_range", "From 0 to the precision (at most 12).") }
            if field.type == .currency {
                let code = o.currencyCode ?? "CNY"
                if code.utf8.count != 3 || !code.utf8.allSatisfy({ (0x41...0x5A).contains($0) }) {
                    errors.add("options.currency_code", "invalid_value", "An ISO 4217 code such as CNY or USD.")
                }
                o.currencyCode = code
            }
        case .picklist, .multiPicklist:
            let values = o.values ?? []
            if values.isEmpty || values.count > FieldValueParser.maxPicklistValues {
                errors.add("options.values", "out_of_range", "From 1 to \(FieldValueParser.maxPicklistValues) values.")
            }
            var seen = Set<String>()
            // Each value is checked only when the count is right, so a flood of values gives one error.
            for (i, v) in values.enumerated() where values.count <= FieldValueParser.maxPicklistValues {
                if v.value.isEmpty || v.value.count > 100 || v.label.count > 100 || v.value.unicodeScalars.contains(where: { $0.value < 0x20 })
                    || TextRules.hasControlCharacters(v.label) {
                    errors.add("options.values.\(i)", "invalid_value", "A value and label of 1 to 100 characters.")
                }
                if !seen.insert(v.value).inserted { errors.add("options.values.\(i)", "duplicate", "'\(v.value.prefix(40))' twice.") }
            }
        case .lookup:
            if let target = o.target, metadata.objects[target] != nil {} else {
                errors.add("options.target", "unknown_object", "Name the object this lookup points at.")
            }
        default: break
        }
        if let pattern = o.pattern {
            if !field.type.isText || field.type == .picklist || field.type == .longText {
                errors.add("options.pattern", "invalid_value", "Only short text fields take a pattern.")
            } else if pattern.count > 200 {
                errors.add("options.pattern", "too_long", "At most 200 characters.")
            } else if case .failure(let why) = FieldPattern.compiled(pattern) {
                errors.add("options.pattern", "invalid_value", why.reason)
            }
        }
        if let min = o.min, let max = o.max, min > max { errors.add("options.min", "out_of_range", "min is above max.") }
        field.options = o
        if let d = field.defaultValue {
            var probe = field
            probe.required = false
            if case .failure(let problem) = FieldValueParser.parse(d, for: probe) { errors.add("default", problem.code, problem.message) }
            if field.type == .lookup || field.type == .user { errors.add("default", "invalid_value", "Reference fields take no default.") }
        }
    }

    /// Changes label, required, default and options; a type only where no value can be lost
    /// (text → long_text, integer → decimal), else 409.
    public func update(_ objectName: String, _ apiName: String, input: Input, tenant: TenantSchema, metadata: TenantMetadata,
                       actor: Principal, meta: RequestMeta, in tx: Transaction) async throws -> View {
        let object = try metadata.object(objectName)
        guard var field = object.field(apiName), !field.isSystem || !FieldDefinition.systemNames.contains(apiName) else {
            throw CRMError.notFound("No field '\(apiName.prefix(40))' on \(object.label.lowercased()).")
        }
        var errors = FieldErrors()
        if input.apiName != nil && input.apiName != apiName {
            errors.add("api_name", "read_only_field", "An api name never changes; change the label.")
        }
        if let label = input.label { field.label = TextRules.check(label, field: "label", max: 100, into: &errors) }
        if let required = input.required { field.required = required }
        if input.unique != nil && input.unique != field.unique {
            throw CRMError.conflict("Whether a field is unique is set when it is created.")
        }
        var retype: FieldType?
        if let raw = input.type, raw != field.type.rawValue {
            guard let to = FieldType(rawValue: raw) else {
                throw CRMError.invalid("type", "invalid_value", "One of: \(FieldType.custom.map(\.rawValue).joined(separator: ", ")).")
            }
            if field.unique && to == .longText {
                throw CRMError.conflict("A unique field cannot become long_text.")
            }
            guard field.isCustom, (field.type == .text && to == .longText) || (field.type == .integer && to == .decimal) else {
                throw CRMError.conflict("A \(field.type.rawValue) field cannot become \(to.rawValue); only text → long_text and integer → decimal keep every value.")
            }
            retype = to
            field.type = to
            if to == .decimal {
                // Every bigint must fit: 19 digits before the point, whatever the scale.
                let scale = field.options.scale ?? 2
                field.options.scale = scale
                field.options.precision = min(38, max(field.options.precision ?? 18, 19 + scale))
            }
        }
        if let options = input.options {
            // The column's numeric shape is fixed once created (a type change above sets it).
            if retype == nil, [FieldType.decimal, .currency, .percent].contains(field.type),
               (options.precision.map { $0 != field.options.precision } ?? false) || (options.scale.map { $0 != field.options.scale } ?? false) {
                throw CRMError.conflict("The precision and scale of a number field are fixed when it is created.")
            }
            if field.type == .lookup, let target = options.target, target != field.options.target {
                throw CRMError.conflict("The object a lookup points at is fixed when it is created.")
            }
            var options = options
            if field.type == .lookup { options.target = field.options.target }
            if retype != nil { options.precision = field.options.precision; options.scale = field.options.scale }
            // Standard fields keep their shape; admins may change their picklist values.
            if field.isCustom { field.options = options } else if let values = options.values, field.options.values != nil {
                field.options.values = values
            }
        }
        if let d = input.default { field.defaultValue = d.isNull ? nil : d }
        Self.checkOptions(&field, metadata: metadata, into: &errors)
        try errors.throwIfAny()
        if let retype {
            var ddl = ["ALTER TABLE \(object.table.quoted) ALTER COLUMN \(field.column.quoted) TYPE \(RecordSQL.columnType(field))"]
            if retype == .longText {
                // Long values do not fit a b-tree entry; the trigram index (if any) stays.
                ddl.append("DROP INDEX IF EXISTS \(SQLIdentifier.quote(RecordTable.indexName(table: object.table, column: field.column, "idx")))")
            }
            try await tx.asOwner {
                for sql in ddl { try await tx.execute(PostgresQuery(unsafeSQL: sql)) }
            }
        }
        try await tx.execute("""
            UPDATE fields SET label = \(field.label), type = \(field.type.rawValue), required = \(field.required),
                default_value = \(field.defaultValue?.jsonText)::jsonb, options = \(Self.json(field.options))::jsonb, updated_at = now()
            WHERE object = \(objectName) AND api_name = \(apiName)
            """)
        try await bumpVersion(tenant, in: tx)
        try await audit.record(AuditEntry(actorType: "user", actorId: actor.user.id, actorLabel: actor.user.email, action: "field.update",
                                          targetType: "field", targetId: "\(objectName).\(apiName)"), meta: meta, at: clock.now(), in: tx)
        return View(field)
    }

    /// Hides a custom field; its column and data stay until `restorable_until`.
    public func delete(_ objectName: String, _ apiName: String, tenant: TenantSchema, metadata: TenantMetadata, actor: Principal, meta: RequestMeta,
                       in tx: Transaction) async throws -> View {
        let object = try metadata.object(objectName)
        guard var field = object.field(apiName), !FieldDefinition.systemNames.contains(apiName) else {
            throw CRMError.notFound("No field '\(apiName.prefix(40))' on \(object.label.lowercased()).")
        }
        guard field.isCustom else { throw CRMError.conflict("Standard fields belong to their module and cannot be deleted.") }
        let now = clock.now()
        field.deletedAt = now
        field.purgeAfter = now.addingTimeInterval(retention)
        try await tx.execute("""
            UPDATE fields SET deleted_at = \(now), purge_after = \(field.purgeAfter), updated_at = now()
            WHERE object = \(objectName) AND api_name = \(apiName)
            """)
        try await bumpVersion(tenant, in: tx)
        try await audit.record(AuditEntry(actorType: "user", actorId: actor.user.id, actorLabel: actor.user.email, action: "field.delete",
                                          targetType: "field", targetId: "\(objectName).\(apiName)"), meta: meta, at: now, in: tx)
        return View(field)
    }

    public func restore(_ objectName: String, _ apiName: String, tenant: TenantSchema, metadata: TenantMetadata, actor: Principal, meta: RequestMeta,
                        in tx: Transaction) async throws -> View {
        let object = try metadata.object(objectName)
        let now = clock.now()
        guard var field = object.deletedFields.first(where: { $0.apiName == apiName }), (field.purgeAfter ?? now) > now else {
            throw CRMError.notFound("No deleted field '\(apiName.prefix(40))' to restore on \(object.label.lowercased()).")
        }
        field.deletedAt = nil
        field.purgeAfter = nil
        try await tx.execute("""
            UPDATE fields SET deleted_at = NULL, purge_after = NULL, updated_at = now() WHERE object = \(objectName) AND api_name = \(apiName)
            """)
        try await bumpVersion(tenant, in: tx)
        try await audit.record(AuditEntry(actorType: "user", actorId: actor.user.id, actorLabel: actor.user.email, action: "field.restore",
                                          targetType: "field", targetId: "\(objectName).\(apiName)"), meta: meta, at: now, in: tx)
        return View(field)
    }

    /// Drops the columns of fields deleted longer ago than the retention period. Returns the
    /// fields purged, as `object.api_name`.
    public func purgeExpired(tenant: TenantSchema, in tx: Transaction) async throws -> [String] {
        let now = clock.now()
        var expired: [(String, String, String, String)] = []
        for try await row in try await tx.query("""
            SELECT f.object, f.api_name, f.column_name, o.table_name FROM fields f JOIN objects o ON o.api_name = f.object
            WHERE f.is_custom AND f.deleted_at IS NOT NULL AND f.purge_after <= \(now) FOR UPDATE OF f
            """).decode((String, String, String, String).self) { expired.append(row) }
        guard !expired.isEmpty else { return [] }
        try await tx.asOwner {
            for (_, _, column, table) in expired {
                let c = try SQLIdentifier(column), t = try SQLIdentifier(table)
                try await tx.execute(PostgresQuery(unsafeSQL: "ALTER TABLE \(t.quoted) DROP COLUMN IF EXISTS \(c.quoted)"))
            }
        }
        for (object, apiName, _, _) in expired {
            try await tx.execute("DELETE FROM fields WHERE object = \(object) AND api_name = \(apiName)")
            try await tx.execute("DELETE FROM role_field_access WHERE object = \(object) AND field = \(apiName)")
            // A field made later under the same name must not show this one's past values.
            try await tx.execute("DELETE FROM record_history WHERE object = \(object) AND field = \(apiName)")
        }
        try await bumpVersion(tenant, in: tx)
        return expired.map { "\($0.0).\($0.1)" }
    }

    /// Bumps the metadata version and regenerates the read functions from the metadata as it
    /// now stands in `tx`, so one-trip reads see the change as soon as it commits.
    func bumpVersion(_ tenant: TenantSchema, in tx: Transaction) async throws {
        try await MetadataVersion.bump(in: tx)
        try await tx.asOwner { try await RecordReadFunction.install(tenant, in: tx) }
    }
}
