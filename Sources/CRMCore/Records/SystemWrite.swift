import Foundation
import PostgresNIO

/// A write a module path makes on records it has already authorized — a pool claim, release or
/// reclaim, a conversion's links, an ownership transfer — set-based, in one statement that also
/// writes each record's history and change event (see `RecordChangeLog`), bumps its version
/// (so a client holding the old ETag gets 412) and calls the object's after-save hooks.
public struct SystemWrite: Sendable {
    /// A column the write sets. `field` names it in history and change events (the field's api
    /// name); nil leaves it out of both (bookkeeping columns such as `pool_entered_at`).
    public struct Assignment: Sendable {
        public let field: String?
        public let column: SQLIdentifier
        public let value: Value

        public enum Value: Sendable {
            case uuid(UUID?)
            case date(Date?)
            case text(String?)
            case integer(Int64?)
            /// An expression over the row before the write (alias `t`), written in the code.
            case expression(StaticString)
        }

        public init(field: String?, column: String, _ value: Value) {
            self.field = field
            // Columns are the code's own constants; a bad one is a programming error.
            self.column = try! SQLIdentifier(column)
            self.value = value
        }

        /// `column = value`, the value bound into `q`.
        func assignment(into q: inout QueryBuilder) throws -> String {
            switch value {
            case .uuid(let v): return "\(column.quoted) = \(try q.bind(v))::uuid"
            case .date(let v): return "\(column.quoted) = \(try q.bind(v))::timestamptz"
            case .text(let v): return "\(column.quoted) = \(try q.bind(v))::text"
            case .integer(let v): return "\(column.quoted) = \(try q.bind(v))::int8"
            case .expression(let e): return "\(column.quoted) = \(e)"
            }
        }

        /// The owner: tracked as the `owner_id` field.
        public static func owner(_ id: UUID?) -> Assignment { Assignment(field: "owner_id", column: "owner_id", .uuid(id)) }
    }

    /// A record the write changed, and which tracked fields changed.
    public struct Changed: Sendable {
        public let id: UUID
        public let version: Int64
        public let changed: [String]
    }

    public let object: String
    public let table: SQLIdentifier
    public let assignments: [Assignment]
    public let hooks: RecordHooks

    public init(object: String, table: SQLIdentifier, set assignments: [Assignment], hooks: RecordHooks) {
        self.object = object
        self.table = table
        self.assignments = assignments
        self.hooks = hooks
    }

    /// Runs the write on the live rows of the table (alias `t`) that `condition` appends a
    /// predicate for. `following` may append more CTEs after the change log's, reading `upd`
    /// (`id, version, old_values, new_values`). Returns the rows written.
    public func run(where condition: (inout QueryBuilder) throws -> Void, actor: RecordActor, at: Date,
                    following: ((inout QueryBuilder) throws -> Void)? = nil, in tx: Transaction) async throws -> [Changed] {
        let tracked = assignments.compactMap { a in a.field.map { (SQLIdentifier.literal($0), a.column.quoted) } }
        func json(_ alias: String) -> String {
            tracked.isEmpty ? "'{}'::jsonb" : "jsonb_build_object(" + tracked.map { "\($0.0), \(alias).\($0.1)" }.joined(separator: ", ") + ")"
        }
        var q = QueryBuilder("WITH old AS (SELECT t.id, \(json("t")) AS old_values FROM \(table.quoted) AS t WHERE t.deleted_at IS NULL AND (")
        try condition(&q)
        q.append(") FOR UPDATE), upd AS (UPDATE \(table.quoted) AS t SET version = t.version + 1")
        let atP = try q.bind(at)
        q.append(", updated_at = \(atP)")
        if let user = actor.userId { q.append(", updated_by = \(try q.bind(user))") }
        for a in assignments { q.append(", " + (try a.assignment(into: &q))) }
        q.append(" FROM old WHERE t.id = old.id RETURNING t.id, t.version, old.old_values, \(json("t")) AS new_values)")
        try RecordChangeLog.append(source: "upd", event: .updated, object: object, actor: actor, at: at, into: &q)
        try following?(&q)
        q.append(" SELECT u.id, u.version, \(RecordChangeLog.changesColumn("u")) FROM upd u")
        var rows: [(UUID, Int64, String)] = []
        for try await row in try await tx.query(q.query).decode((UUID, Int64, String).self) { rows.append(row) }
        let hooks = hooks.hooks(for: object)
        var out: [Changed] = [], saved: [RecordSaved] = []
        for (id, version, text) in rows {
            let changes = RecordChangeLog.parseChanges(text)
            out.append(Changed(id: id, version: version, changed: changes.keys.sorted()))
            if !hooks.isEmpty { saved.append(RecordSaved(object: object, event: .updated, id: id, version: version, actor: actor, changes: changes)) }
        }
        if !saved.isEmpty { for hook in hooks { try await hook.afterSave(batch: saved, in: tx) } }
        return out
    }
}
