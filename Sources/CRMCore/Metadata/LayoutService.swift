import Foundation
import PostgresNIO

/// Forms: ordered sections of fields per object, optionally per role. The API serves the form
/// for the caller's role with their field access applied, so any client can render it.
public struct LayoutService: Sendable {
    public init() {}

    public struct Section: Sendable, Codable, Equatable {
        public var label: String
        public var fields: [Item]
    }

    public struct Item: Sendable, Codable, Equatable {
        public var field: String
        public var required: Bool?
        public var readOnly: Bool?
        enum CodingKeys: String, CodingKey { case field, required, readOnly = "read_only" }
        public init(field: String, required: Bool? = nil, readOnly: Bool? = nil) {
            self.field = field
            self.required = required
            self.readOnly = readOnly
        }
        /// A bare field name is an item too.
        public init(from decoder: any Decoder) throws {
            if let name = try? decoder.singleValueContainer().decode(String.self) {
                self.init(field: name)
                return
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(field: try c.decode(String.self, forKey: .field), required: try c.decodeIfPresent(Bool.self, forKey: .required),
                      readOnly: try c.decodeIfPresent(Bool.self, forKey: .readOnly))
        }
    }

    /// The form as a caller gets it: each field with its type, label and effective flags.
    public struct Rendered: Sendable, Codable {
        public struct Field: Sendable, Codable {
            public var field: String
            public var label: String
            public var type: String
            public var required: Bool
            public var readOnly: Bool
            public var options: FieldOptions
        }
        public struct RenderedSection: Sendable, Codable {
            public var label: String
            public var fields: [Field]
        }
        public var object: String
        public var roleId: UUID?
        public var sections: [RenderedSection]
    }

    public func layout(_ objectName: String, caller: RecordCaller, in tx: Transaction) async throws -> Rendered {
        let object = try caller.readable(objectName)
        var stored: [(UUID?, String)] = []
        for try await row in try await tx.query("SELECT role_id, sections::text FROM layouts WHERE object = \(objectName)")
            .decode((UUID?, String).self) { stored.append(row) }
        // A layout of one of the caller's roles (the lowest role id, for a stable answer), else the default.
        let roles = Set(caller.permissions.roleIds)
        let mine = stored.filter { $0.0.map(roles.contains) ?? false }.sorted { $0.0!.uuidString < $1.0!.uuidString }.first
        let chosen = mine ?? stored.first { $0.0 == nil }
        var sections: [Section]
        if let chosen, let decoded = try? JSONDecoder().decode([Section].self, from: Data(chosen.1.utf8)) {
            sections = decoded
        } else {
            let items = object.fields.filter { !FieldDefinition.systemNames.contains($0.apiName) }.map { Item(field: $0.apiName) }
            sections = [Section(label: object.label, fields: items)]
        }
        let rendered = sections.map { section in
            Rendered.RenderedSection(label: section.label, fields: section.fields.compactMap { item in
                guard let field = object.field(item.field), caller.isVisible(field) else { return nil }
                return Rendered.Field(field: field.apiName, label: field.label, type: field.type.rawValue,
                                      required: field.required || (item.required ?? false),
                                      readOnly: !field.isWritable || caller.access(field) == .readOnly || (item.readOnly ?? false),
                                      options: field.options)
            })
        }
        return Rendered(object: objectName, roleId: mine?.0, sections: rendered)
    }

    /// Stores the form of `object` (for one role, or the default), checking every field name.
    public func put(_ objectName: String, roleId: UUID?, sections: [Section], metadata: TenantMetadata, in tx: Transaction) async throws {
        let object = try metadata.object(objectName)
        var errors = FieldErrors()
        if sections.isEmpty || sections.count > 50 { errors.add("sections", "out_of_range", "From 1 to 50 sections.") }
        // Counted before any item is looked at: a field appears once, so more items than the object
        // has fields are refused as a whole.
        let items = sections.prefix(51).reduce(0) { $0 + $1.fields.count }
        if items > object.fields.count { errors.add("sections", "too_many", "At most \(object.fields.count) fields on a form.") }
        let counted = sections.count <= 50 && items <= object.fields.count
        var seen = Set<String>()
        for (i, section) in sections.enumerated() where counted {
            TextRules.check(section.label, field: "sections.\(i).label", max: 100, into: &errors)
            for (j, item) in section.fields.enumerated() {
                if object.field(item.field) == nil {
                    errors.add("sections.\(i).fields.\(j)", "unknown_field", "\(object.label) has no field '\(item.field.prefix(40))'.")
                } else if !seen.insert(item.field).inserted {
                    errors.add("sections.\(i).fields.\(j)", "duplicate", "'\(item.field)' is already on the form.")
                }
            }
        }
        if let roleId {
            var found = false
            for try await _ in try await tx.query("SELECT 1 FROM roles WHERE id = \(roleId)").decode(Int.self) { found = true }
            if !found { errors.add("role_id", "not_found", "No such role.") }
        }
        try errors.throwIfAny()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(sections), as: UTF8.self)
        try await tx.execute("""
            INSERT INTO layouts (id, object, role_id, sections) VALUES (\(UUID.v7()), \(objectName), \(roleId), \(json)::jsonb)
            ON CONFLICT (object, coalesce(role_id, '00000000-0000-0000-0000-000000000000'::uuid)) DO UPDATE SET sections = excluded.sections, updated_at = now()
            """)
    }
}
