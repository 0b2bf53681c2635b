import Foundation
import PostgresNIO

/// The records API over any object: get, list, create, update, soft delete, restore, the
/// recycle bin and field history. Every call goes through the caller's permissions: the
/// action, the record scope as a SQL predicate (out of scope is 404), and field access
/// (hidden fields never leave; writing a read-only or hidden field is 403 naming them).
public struct RecordService: Sendable {
    let clock: any WallClock
    /// The modules' before- and after-save hooks, by object.
    public let hooks: RecordHooks
    /// Substring searches too short for the trigram indexes read the whole table: one at a time
    /// per tenant, the next gets 429 at once.
    let scans = TenantGate(limits: .init(maxConnections: 1, maxQueued: 0))
    /// The statement timeout of such a search.
    public static let scanTimeout = "2s"

    /// CHECK constraints of module tables → the field error a client sees.
    let constraints: [String: ConstraintError]

    public init(clock: any WallClock, hooks: RecordHooks = .none, constraints: [String: ConstraintError] = [:]) {
        self.clock = clock
        self.hooks = hooks
        self.constraints = constraints
    }

    /// A record as JSON text rendered by PostgreSQL, and its version for the ETag.
    public struct Fetched: Sendable {
        public var json: String
        public var version: Int64
        /// What hooks add to the answer beside the record's fields (a lead's duplicate warnings).
        public var annotations: [String: JSONValue] = [:]

        public init(json: String, version: Int64, annotations: [String: JSONValue] = [:]) {
            self.json = json
            self.version = version
            self.annotations = annotations
        }
    }

    /// A page of records as JSON texts.
    public struct Page: Sendable {
        public var rows: [String]
        public var nextCursor: String?

        /// `{"data":[…],"next_cursor":…}` without decoding the rows again.
        public var json: String {
            let cursor = nextCursor.map { "\"\($0)\"" } ?? "null"
            return "{\"data\":[" + rows.joined(separator: ",") + "],\"next_cursor\":" + cursor + "}"
        }
    }

    public struct HistoryEntry: Sendable, Codable {
        public var event: String
        public var field: String?
        public var old: JSONValue?
        public var new: JSONValue?
        public var userId: UUID?
        public var userName: String?
        public var at: Date
    }

    // MARK: reading

    public func get(_ objectName: String, id: UUID, caller: RecordCaller, in tx: Transaction) async throws -> Fetched {
        let object = try caller.readable(objectName)
        var q = QueryBuilder()
        let idP = try q.bind(id)
        let scope = try q.fragment { try caller.scope(.read, on: object, into: &$0) }
        q.append(RecordSQL.getByIdSQL(object, fields: caller.visibleFields(object), idPlaceholder: idP, scope: scope))
        for try await (json, version) in try await tx.query(q.query).decode((String, Int64).self) {
            return Fetched(json: json, version: version)
        }
        throw CRMError.notFound("No such \(object.label.lowercased()).")
    }

    /// One page of live records, or with `deleted` of the recycle bin.
    /// `tenant` names the tenant for the one-at-a-time rule of searches the indexes cannot serve.
    public func list(_ objectName: String, params: [(String, String)], deleted: Bool = false, caller: RecordCaller,
                     tenant: String? = nil, in tx: Transaction) async throws -> Page {
        let object = try caller.readable(objectName)
        let query = try RecordListQuery.parse(params, object: object, visible: caller.isVisible)
        guard query.scans, let tenant else {
            return try await list(object, query: query, deleted: deleted, caller: caller, in: tx)
        }
        do {
            return try await scans.withPermit(tenant, timeout: .zero) {
                try await tx.execute("SELECT set_config('statement_timeout', \(Self.scanTimeout), true)")
                return try await list(object, query: query, deleted: deleted, caller: caller, in: tx)
            }
        } catch let error as CRMError where error.code == .throttled {
            throw CRMError(.throttled, "Another short search of this company is running; searches of fewer than \(RecordListQuery.indexedSearchLength) characters run one at a time.", retryAfter: 1)
        } catch let error as PSQLError where error.sqlState == "57014" {
            let field = query.search != nil && (query.search?.count ?? 0) < RecordListQuery.indexedSearchLength ? "q" : "filter"
            throw CRMError.invalid(field, "too_broad", "A search of fewer than \(RecordListQuery.indexedSearchLength) characters took longer than \(Self.scanTimeout); give more characters or a filter.")
        }
    }

    func list(_ object: ObjectDefinition, query: RecordListQuery, deleted: Bool, caller: RecordCaller,
              in tx: Transaction) async throws -> Page {
        let visible = caller.visibleFields(object)
        let extra = deleted ? [("deleted_at", "t.deleted_at"), ("deleted_by", "t.deleted_by")] : []
        let sortExpr = query.sortField.map { "t.\($0.column.quoted)" }
        var q = QueryBuilder("SELECT (\(RecordSQL.json(visible, extra: extra)))::text, \(sortExpr.map { "\($0)::text" } ?? "NULL::text"), t.id FROM \(object.table.quoted) AS t WHERE ")
        q.append(deleted ? "t.deleted_at IS NOT NULL AND " : "t.deleted_at IS NULL AND ")
        try caller.scope(.read, on: object, into: &q)
        for filter in query.filters { q.append(" AND "); try Self.appendFilter(filter, into: &q) }
        if let search = query.search {
            let fields = visible.filter { $0.searchable && $0.type.isText }
            if fields.isEmpty { q.append(" AND false") } else {
                let pattern = try q.bind("%" + Self.escapeLike(search) + "%")
                q.append(" AND (" + fields.map { "t.\($0.column.quoted) ILIKE \(pattern)" }.joined(separator: " OR ") + ")")
            }
        }
        if let cursor = query.cursor {
            let id = try q.bind(cursor.id)
            if let sortExpr, let field = query.sortField {
                let cmp = query.descending ? "<" : ">"
                if let value = cursor.value {
                    let v = "\(try q.bind(value))::\(field.type.cast)"
                    q.append(query.descending
                        ? " AND (\(sortExpr) < \(v) OR (\(sortExpr) = \(v) AND t.id < \(id)))"
                        : " AND (\(sortExpr) > \(v) OR (\(sortExpr) = \(v) AND t.id > \(id)) OR \(sortExpr) IS NULL)")
                } else {
                    q.append(query.descending
                        ? " AND ((\(sortExpr) IS NULL AND t.id < \(id)) OR \(sortExpr) IS NOT NULL)"
                        : " AND \(sortExpr) IS NULL AND t.id \(cmp) \(id)")
                }
            } else {
                q.append(" AND t.id \(query.descending ? "<" : ">") \(id)")
            }
        }
        let dir = query.descending ? "DESC" : "ASC"
        if let sortExpr {
            q.append(" ORDER BY \(sortExpr) \(dir) NULLS \(query.descending ? "FIRST" : "LAST"), t.id \(dir)")
        } else {
            q.append(" ORDER BY t.id \(dir)")
        }
        q.append(" LIMIT \(query.limit + 1)")
        var rows: [String] = []
        var last: (String?, UUID)?
        for try await (json, sortValue, id) in try await tx.query(q.query).decode((String, String?, UUID).self) {
            if rows.count == query.limit { return Page(rows: rows, nextCursor: last.map {
                RecordCursor(sort: query.sortKeyText, value: $0.0, id: $0.1).encoded
            }) }
            rows.append(json)
            last = (sortValue, id)
        }
        return Page(rows: rows, nextCursor: nil)
    }

    static func escapeLike(_ s: String) -> String {
        var out = ""
        for c in s {
            if c == "\\" || c == "%" || c == "_" { out.append("\\") }
            out.append(c)
        }
        return out
    }

    static func appendFilter(_ filter: RecordListQuery.Filter, into q: inout QueryBuilder) throws {
        let col = "t.\(filter.field.column.quoted)"
        let type = filter.field.type
        func v(_ i: Int) throws -> String { try q.bind(filter.values[i], as: type) }
        switch filter.op {
        case .eq: q.append("\(col) = \(try v(0))")
        case .ne: q.append("\(col) IS DISTINCT FROM \(try v(0))")
        case .lt: q.append("\(col) < \(try v(0))")
        case .lte: q.append("\(col) <= \(try v(0))")
        case .gt: q.append("\(col) > \(try v(0))")
        case .gte: q.append("\(col) >= \(try v(0))")
        case .between: q.append("\(col) BETWEEN \(try v(0)) AND \(try v(1))")
        case .in:
            let texts = filter.values.compactMap { if case .text(let s) = $0 { return s } else { return nil } }
            q.append("\(col) = ANY(\(try q.bind(texts))::text[]::\(type.cast)[])")
        case .isNull:
            q.append(filter.values.first == .text("true") ? "\(col) IS NULL" : "\(col) IS NOT NULL")
        case .contains:
            guard case .text(let s) = filter.values[0] else { q.append("false"); return }
            if type == .multiPicklist || type == .tags {
                q.append("\(col) @> ARRAY[\(try q.bind(s))::text]")
            } else {
                q.append("\(col) ILIKE \(try q.bind("%" + escapeLike(s) + "%"))")
            }
        case .startsWith:
            guard case .text(let s) = filter.values[0] else { q.append("false"); return }
            q.append("\(col) LIKE \(try q.bind(escapeLike(s) + "%"))")
        }
    }

    public func history(_ objectName: String, id: UUID, caller: RecordCaller, in tx: Transaction) async throws -> [HistoryEntry] {
        let object = try caller.readable(objectName)
        var q = QueryBuilder("SELECT 1 FROM \(object.table.quoted) AS t WHERE t.id = ")
        q.append(try q.bind(id))
        q.append(" AND ")
        try caller.scope(.read, on: object, into: &q)
        var found = false
        for try await _ in try await tx.query(q.query).decode(Int.self) { found = true }
        guard found else { throw CRMError.notFound("No such \(object.label.lowercased()).") }
        var out: [HistoryEntry] = []
        let rows = try await tx.query("""
            SELECT h.event, h.field, h.old_value::text, h.new_value::text, h.actor_id, u.name, h.at
            FROM record_history h LEFT JOIN users u ON u.id = h.actor_id
            WHERE h.record_id = \(id) AND h.object = \(object.apiName) ORDER BY h.id DESC LIMIT 1000
            """)
        for try await (event, field, old, new, actor, name, at) in rows.decode((String, String?, String?, String?, UUID?, String?, Date).self) {
            if let field {
                // Hidden and deleted fields leave no trace in the history either.
                guard let def = object.field(field), caller.isVisible(def) else { continue }
            }
            out.append(HistoryEntry(event: event, field: field, old: old.flatMap(JSONValue.parse), new: new.flatMap(JSONValue.parse),
                                    userId: actor, userName: name, at: at))
        }
        // The newest thousand, oldest first.
        return out.reversed()
    }

    // MARK: writing

    /// The object for a create: 404 when the caller cannot even read it, 403 when they can but
    /// may not create. Writes to existing records look the record up first (404 outside the read
    /// scope, so nothing about other records is revealed) and only then answer 403.
    func creatable(_ objectName: String, caller: RecordCaller) throws -> ObjectDefinition {
        let object = try caller.readable(objectName)
        guard caller.permissions.may(.create, on: objectName) else {
            throw CRMError.forbidden("You may not create \(object.pluralLabel.lowercased()).")
        }
        return object
    }

    /// Creates a record: authorize, check the body against metadata and field access, the
    /// object's before-save hooks, then the row with its history and change event in one
    /// statement, then the after-save hooks. `options` are the hooks' write parameters.
    public func create(_ objectName: String, body: [String: JSONValue], options: [String: String] = [:], origin: String = "api",
                       caller: RecordCaller, in tx: Transaction) async throws -> Fetched {
        let object = try creatable(objectName, caller: caller)
        let now = clock.now()
        let actor = RecordActor(userId: caller.userId, requestId: caller.meta.requestId, origin: origin)
        var values = try checkWrite(object, body: body, creating: true, caller: caller)
        var owner = caller.userId
        if let requested = values.removeValue(forKey: "owner_id") {
            guard case .text(let text) = requested.1, let id = UUID(uuidString: text) else {
                throw CRMError.invalid("owner_id", "required", "A record needs an owner.")
            }
            if id != caller.userId {
                guard caller.permissions.reaches(.assign, on: objectName, ownedBy: id) else {
                    throw CRMError(.forbidden, "You may not give records to that user.", fieldErrors: [
                        FieldError(field: "owner_id", code: "read_only_field", message: "You may not assign records to this user.")])
                }
            }
            owner = id
        }
        try await checkReferences(object, values: values, extraUser: owner == caller.userId ? nil : owner, caller: caller, in: tx)
        let id = UUID.v7(now: now)
        try await checkUnique(object, values: values, excluding: id, in: tx)
        let hooks = hooks.hooks(for: object.apiName)
        var annotations: [String: JSONValue] = [:]
        if !hooks.isEmpty {
            var withOwner = values
            if let field = object.field("owner_id") { withOwner["owner_id"] = (field, .text(owner.uuidString.lowercased())) }
            let write = RecordWrite(object: object, event: .created, id: id, values: withOwner, sent: body, before: [:], caller: caller, actor: actor,
                                    options: options)
            for hook in hooks { annotations.merge(try await hook.beforeSave(write, in: tx)) { _, new in new } }
        }
        let ordered = values.values.sorted { $0.0.position < $1.0.position }
        let tracked = Self.trackedFields(object)
        var q = QueryBuilder("WITH ins AS (INSERT INTO \(object.table.quoted) AS t (id, owner_id, created_by, updated_by, created_at, updated_at")
        for (field, _) in ordered { q.append(", " + field.column.quoted) }
        let nowP = try q.bind(now), user = try q.bind(caller.userId), idP = try q.bind(id)
        q.append(") VALUES (\(idP), \(try q.bind(owner)), \(user), \(user), \(nowP), \(nowP)")
        for (field, value) in ordered { q.append(", " + (try q.bind(value, as: field.type))) }
        q.append(") RETURNING t.id, t.version, '{}'::jsonb AS old_values, (\(RecordSQL.json(tracked))) AS new_values, ")
        q.append("(\(RecordSQL.json(caller.visibleFields(object))))::text AS out)")
        try RecordChangeLog.append(source: "ins", event: .created, object: object.apiName, actor: actor, at: now, into: &q)
        q.append(" SELECT out, version, \(hooks.isEmpty ? "'{}'" : RecordChangeLog.changesColumn("ins")) FROM ins")
        var fetched = try await mapUnique(object) { () async throws -> (Fetched, String) in
            for try await (json, version, changes) in try await tx.query(q.query).decode((String, Int64, String).self) {
                return (Fetched(json: json, version: version), changes)
            }
            throw CRMError.conflict("The record was not created.")
        }
        if !hooks.isEmpty {
            let saved = RecordSaved(object: object.apiName, event: .created, id: id, version: fetched.0.version, actor: actor,
                                    changes: RecordChangeLog.parseChanges(fetched.1))
            for hook in hooks { try await hook.afterSave(saved, in: tx) }
        }
        fetched.0.annotations = annotations
        return fetched.0
    }

    /// Updates a record: 404 outside the read scope, 403 outside the update reach, 412 on a stale
    /// If-Match, then as `create`. `system` sets more columns in the same write (a conversion's
    /// links), tracked in history and the change event like the body's fields.
    public func update(_ objectName: String, id: UUID, body: [String: JSONValue], ifMatch: Int64?, options: [String: String] = [:],
                       origin: String = "api", system: [SystemWrite.Assignment] = [], caller: RecordCaller,
                       in tx: Transaction) async throws -> Fetched {
        let object = try caller.readable(objectName)
        let now = clock.now()
        let actor = RecordActor(userId: caller.userId, requestId: caller.meta.requestId, origin: origin)
        let tracked = Self.trackedFields(object)
        var q = QueryBuilder("SELECT t.version, t.owner_id, (\(RecordSQL.json(tracked)))::text FROM \(object.table.quoted) AS t WHERE t.id = ")
        q.append(try q.bind(id))
        q.append(" AND t.deleted_at IS NULL AND ")
        try caller.scope(.read, on: object, into: &q)
        q.append(" FOR UPDATE")
        var current: (Int64, UUID?, String)?
        for try await row in try await tx.query(q.query).decode((Int64, UUID?, String).self) { current = row }
        guard let (version, owner, oldJSON) = current else { throw CRMError.notFound("No such \(object.label.lowercased()).") }
        guard caller.permissions.reaches(.update, on: objectName, ownedBy: owner) else {
            throw CRMError.forbidden("You may read this \(object.label.lowercased()) but not change it.")
        }
        if let ifMatch, ifMatch != version {
            throw CRMError(.preconditionFailed, "The record changed since you read it (version \(version) now); read it again.")
        }
        var values = try checkWrite(object, body: body, creating: false, caller: caller)
        var newOwner: UUID?
        if let requested = values.removeValue(forKey: "owner_id") {
            guard case .text(let text) = requested.1, let to = UUID(uuidString: text) else {
                throw CRMError.invalid("owner_id", "required", "A record needs an owner.")
            }
            if to != owner {
                guard caller.permissions.reaches(.assign, on: objectName, ownedBy: owner),
                      caller.permissions.reaches(.assign, on: objectName, ownedBy: to) else {
                    throw CRMError(.forbidden, "You may not reassign this record.", fieldErrors: [
                        FieldError(field: "owner_id", code: "read_only_field", message: "You may not reassign this record.")])
                }
                newOwner = to
            }
        }
        try await checkReferences(object, values: values, extraUser: newOwner, caller: caller, in: tx)
        try await checkUnique(object, values: values, excluding: id, in: tx)
        let hooks = hooks.hooks(for: object.apiName)
        var annotations: [String: JSONValue] = [:]
        if !hooks.isEmpty {
            guard case .object(let before)? = JSONValue.parse(oldJSON) else { throw CRMError.conflict("The record could not be read.") }
            var withOwner = values
            if let newOwner, let field = object.field("owner_id") { withOwner["owner_id"] = (field, .text(newOwner.uuidString.lowercased())) }
            let write = RecordWrite(object: object, event: .updated, id: id, values: withOwner, sent: body, before: before, caller: caller, actor: actor,
                                    options: options)
            for hook in hooks { annotations.merge(try await hook.beforeSave(write, in: tx)) { _, new in new } }
        }
        // History and events see the tracked fields and the system columns this write sets.
        var newJSON = RecordSQL.json(tracked)
        let oldExpr: String
        let extraTracked = system.compactMap { a in a.field.map { (SQLIdentifier.literal($0), a.column.quoted) } }
            .filter { pair in !tracked.contains { SQLIdentifier.literal($0.apiName) == pair.0 } }
        var u = QueryBuilder("WITH ")
        if !extraTracked.isEmpty {
            let pairs = extraTracked.map { "\($0.0), t.\($0.1)" }.joined(separator: ", ")
            newJSON = "(\(newJSON)) || jsonb_build_object(\(pairs))"
            u.append("prev AS (SELECT jsonb_build_object(\(pairs)) AS extra FROM \(object.table.quoted) AS t WHERE t.id = \(try u.bind(id))), ")
            oldExpr = "(\(try u.bind(oldJSON))::jsonb || (SELECT extra FROM prev))"
        } else {
            oldExpr = "\(try u.bind(oldJSON))::jsonb"
        }
        u.append("upd AS (UPDATE \(object.table.quoted) AS t SET version = t.version + 1")
        let nowP = try u.bind(now)
        u.append(", updated_at = \(nowP), updated_by = \(try u.bind(caller.userId))")
        if let newOwner { u.append(", owner_id = \(try u.bind(newOwner))") }
        for (field, value) in values.values.sorted(by: { $0.0.position < $1.0.position }) {
            u.append(", \(field.column.quoted) = \(try u.bind(value, as: field.type))")
        }
        for a in system { u.append(", " + (try a.assignment(into: &u))) }
        u.append(" WHERE t.id = \(try u.bind(id)) RETURNING t.id, t.version, \(oldExpr) AS old_values, (\(newJSON)) AS new_values, ")
        u.append("(\(RecordSQL.json(caller.visibleFields(object))))::text AS out)")
        try RecordChangeLog.append(source: "upd", event: .updated, object: object.apiName, actor: actor, at: now, into: &u)
        u.append(" SELECT out, version, \(hooks.isEmpty ? "'{}'" : RecordChangeLog.changesColumn("upd")) FROM upd")
        var fetched = try await mapUnique(object) { () async throws -> (Fetched, String) in
            for try await (json, version, changes) in try await tx.query(u.query).decode((String, Int64, String).self) {
                return (Fetched(json: json, version: version), changes)
            }
            throw CRMError.notFound("No such \(object.label.lowercased()).")
        }
        if !hooks.isEmpty {
            let saved = RecordSaved(object: object.apiName, event: .updated, id: id, version: fetched.0.version, actor: actor,
                                    changes: RecordChangeLog.parseChanges(fetched.1))
            for hook in hooks { try await hook.afterSave(saved, in: tx) }
        }
        fetched.0.annotations = annotations
        return fetched.0
    }

    public func delete(_ objectName: String, id: UUID, ifMatch: Int64?, caller: RecordCaller, in tx: Transaction) async throws {
        let object = try caller.readable(objectName)
        let now = clock.now()
        let (version, owner) = try await lockLive(object, id: id, caller: caller, in: tx)
        guard caller.permissions.reaches(.delete, on: objectName, ownedBy: owner) else {
            throw CRMError.forbidden("You may read this \(object.label.lowercased()) but not delete it.")
        }
        if let ifMatch, ifMatch != version {
            throw CRMError(.preconditionFailed, "The record changed since you read it (version \(version) now); read it again.")
        }
        var q = QueryBuilder("WITH del AS (UPDATE \(object.table.quoted) AS t SET deleted_at = ")
        let nowP = try q.bind(now)
        q.append("\(nowP), deleted_by = \(try q.bind(caller.userId)), version = t.version + 1 WHERE t.id = \(try q.bind(id))")
        q.append(" RETURNING t.id, t.version, '{}'::jsonb AS old_values, '{}'::jsonb AS new_values)")
        let actor = RecordActor(userId: caller.userId, requestId: caller.meta.requestId, origin: "api")
        try RecordChangeLog.append(source: "del", event: .deleted, object: object.apiName, actor: actor, at: now, into: &q)
        q.append(" SELECT version FROM del")
        for try await _ in try await tx.query(q.query).decode(Int64.self) {}
    }

    /// Takes a record out of the recycle bin, for callers who may delete it.
    public func restore(_ objectName: String, id: UUID, caller: RecordCaller, in tx: Transaction) async throws -> Fetched {
        let object = try caller.readable(objectName)
        let now = clock.now()
        var find = QueryBuilder("SELECT t.owner_id FROM \(object.table.quoted) AS t WHERE t.id = ")
        find.append(try find.bind(id))
        find.append(" AND t.deleted_at IS NOT NULL AND ")
        try caller.scope(.read, on: object, into: &find)
        find.append(" FOR UPDATE")
        var found: UUID?? = nil
        for try await owner in try await tx.query(find.query).decode(UUID?.self) { found = .some(owner) }
        guard let owner = found else { throw CRMError.notFound("No such \(object.label.lowercased()) in the recycle bin.") }
        guard caller.permissions.reaches(.delete, on: objectName, ownedBy: owner) else {
            throw CRMError.forbidden("You may see this \(object.label.lowercased()) but not restore it.")
        }
        var q = QueryBuilder("WITH res AS (UPDATE \(object.table.quoted) AS t SET deleted_at = NULL, deleted_by = NULL, version = t.version + 1, updated_at = ")
        q.append(try q.bind(now))
        q.append(" WHERE t.id = \(try q.bind(id))")
        q.append(" RETURNING t.id, t.version, '{}'::jsonb AS old_values, '{}'::jsonb AS new_values, (\(RecordSQL.json(caller.visibleFields(object))))::text AS out)")
        let actor = RecordActor(userId: caller.userId, requestId: caller.meta.requestId, origin: "api")
        try RecordChangeLog.append(source: "res", event: .restored, object: object.apiName, actor: actor, at: now, into: &q)
        q.append(" SELECT out, version FROM res")
        return try await mapUnique(object) {
            for try await (json, version) in try await tx.query(q.query).decode((String, Int64).self) {
                return Fetched(json: json, version: version)
            }
            throw CRMError.notFound("No such \(object.label.lowercased()) in the recycle bin.")
        }
    }

    /// Locks a live record the caller can read; 404 otherwise.
    func lockLive(_ object: ObjectDefinition, id: UUID, caller: RecordCaller, in tx: Transaction) async throws -> (Int64, UUID?) {
        var q = QueryBuilder("SELECT t.version, t.owner_id FROM \(object.table.quoted) AS t WHERE t.id = ")
        q.append(try q.bind(id))
        q.append(" AND t.deleted_at IS NULL AND ")
        try caller.scope(.read, on: object, into: &q)
        q.append(" FOR UPDATE")
        for try await row in try await tx.query(q.query).decode((Int64, UUID?).self) { return row }
        throw CRMError.notFound("No such \(object.label.lowercased()).")
    }

    /// Fields whose changes the history records: every live field but the system ones, and the owner.
    static func trackedFields(_ object: ObjectDefinition) -> [FieldDefinition] {
        object.fields.filter { !$0.isSystem || $0.apiName == "owner_id" }
    }

    /// Checks a body against metadata and field access: every problem at once. 403 (naming the
    /// fields) when it writes fields the caller may not; else 400 for unknown, read-only,
    /// missing or invalid values. Returns the checked values by api name.
    func checkWrite(_ object: ObjectDefinition, body: [String: JSONValue], creating: Bool,
                    caller: RecordCaller) throws -> [String: (FieldDefinition, BoundValue)] {
        // More keys than the object has fields cannot all be fields: refused before any per-key work.
        guard body.count <= object.fields.count else {
            throw CRMError.invalid("body", "too_many", "\(body.count) keys, and \(object.label.lowercased()) has \(object.fields.count) fields.")
        }
        var errors = FieldErrors(), denied = FieldErrors()
        var out: [String: (FieldDefinition, BoundValue)] = [:]
        // A body of many unknown keys gets the first few named, not an answer as large as itself.
        var unknown = 0
        for key in body.keys.sorted() {
            let value = body[key]!
            guard let field = object.field(key) else {
                unknown += 1
                if unknown <= Self.maxUnknownNamed {
                    errors.add(String(key.prefix(60)), "unknown_field", "\(object.label) has no field '\(key.prefix(40))'.")
                }
                continue
            }
            guard field.isWritable else {
                errors.add(key, "read_only_field", "This field is set by the system.")
                continue
            }
            if field.apiName != "owner_id" {
                switch caller.access(field) {
                case .hidden, .readOnly:
                    denied.add(key, "read_only_field", "You may not write this field.")
                    continue
                case .editable: break
                }
            }
            switch FieldValueParser.parse(value, for: field) {
            case .success(let bound):
                if bound == .null && field.required && field.apiName != "owner_id" {
                    errors.add(key, "required", "This field is required.")
                } else {
                    out[key] = (field, bound)
                }
            case .failure(let problem): errors.add(key, problem.code, problem.message)
            }
        }
        if creating {
            for field in object.fields where field.isWritable && field.apiName != "owner_id" && body[field.apiName] == nil {
                if let defaultValue = field.defaultValue, case .success(let bound) = FieldValueParser.parse(defaultValue, for: field),
                   bound != .null {
                    out[field.apiName] = (field, bound)
                } else if field.required {
                    errors.add(field.apiName, "required", "This field is required.")
                }
            }
        }
        if unknown > Self.maxUnknownNamed {
            errors.add("body", "too_many", "\(unknown) unknown fields; the first \(Self.maxUnknownNamed) are named.")
        }
        if !denied.isEmpty {
            throw CRMError(.forbidden, "You may not write some of these fields.", fieldErrors: denied.errors)
        }
        try errors.throwIfAny()
        return out
    }

    /// Unknown fields named one by one in a 400; more are counted.
    static let maxUnknownNamed = 20

    /// Lookups must name live records the caller can read; user fields active users.
    func checkReferences(_ object: ObjectDefinition, values: [String: (FieldDefinition, BoundValue)], extraUser: UUID?,
                         caller: RecordCaller, in tx: Transaction) async throws {
        var errors = FieldErrors()
        for (name, (field, value)) in values.sorted(by: { $0.key < $1.key }) {
            guard case .text(let text) = value, let id = UUID(uuidString: text) else { continue }
            switch field.type {
            case .lookup:
                guard let targetName = field.options.target, let target = caller.metadata.objects[targetName],
                      caller.permissions.may(.read, on: targetName) else {
                    errors.add(name, "lookup_not_found", "No such record.")
                    continue
                }
                var q = QueryBuilder("SELECT 1 FROM \(target.table.quoted) AS t WHERE t.id = ")
                q.append(try q.bind(id))
                q.append(" AND t.deleted_at IS NULL AND ")
                try caller.scope(.read, on: target, into: &q)
                var found = false
                for try await _ in try await tx.query(q.query).decode(Int.self) { found = true }
                if !found { errors.add(name, "lookup_not_found", "No such \(target.label.lowercased()).") }
            case .user:
                if try await !activeUser(id, in: tx) { errors.add(name, "user_not_found", "No such active user.") }
            default: break
            }
        }
        if let extraUser, try await !activeUser(extraUser, in: tx) {
            errors.add("owner_id", "user_not_found", "No such active user.")
        }
        try errors.throwIfAny()
    }

    func activeUser(_ id: UUID, in tx: Transaction) async throws -> Bool {
        for try await active in try await tx.query("SELECT is_active FROM users WHERE id = \(id)").decode(Bool.self) { return active }
        return false
    }

    /// Unique fields: a clear 409 before writing (a conflict with the stored data, as when the
    /// unique index decides a race); the index still decides races.
    func checkUnique(_ object: ObjectDefinition, values: [String: (FieldDefinition, BoundValue)], excluding id: UUID,
                     in tx: Transaction) async throws {
        var errors = FieldErrors()
        for (name, (field, value)) in values.sorted(by: { $0.key < $1.key }) where field.unique && value != .null {
            var q = QueryBuilder("SELECT 1 FROM \(object.table.quoted) AS t WHERE t.\(field.column.quoted) = ")
            q.append(try q.bind(value, as: field.type))
            q.append(" AND t.deleted_at IS NULL AND t.id <> \(try q.bind(id)) LIMIT 1")
            for try await _ in try await tx.query(q.query).decode(Int.self) {
                errors.add(name, "unique_violation", "Another \(object.label.lowercased()) has this value.")
            }
        }
        if !errors.isEmpty {
            throw CRMError(.conflict, "Another \(object.label.lowercased()) has this value.", fieldErrors: errors.errors)
        }
    }

    /// Turns a unique-index violation (a race the pre-check lost) into the field's error, and a
    /// module's CHECK constraint into the field error it declared.
    func mapUnique<T>(_ object: ObjectDefinition, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError where error.sqlState == "23514" {
            guard let known = constraints[error.serverInfo?[.constraintName] ?? ""] else { throw error }
            throw CRMError.invalid(known.field, known.code, known.message)
        } catch let error as PSQLError where error.sqlState == "23505" {
            let constraint = error.serverInfo?[.constraintName] ?? ""
            let field = object.fields.first { constraint == RecordTable.indexName(table: object.table, column: $0.column, "key") }
            throw CRMError(.conflict, "Another \(object.label.lowercased()) has this value.", fieldErrors: [
                FieldError(field: field?.apiName ?? "unknown", code: "unique_violation", message: "Another record has this value.")])
        }
    }
}
