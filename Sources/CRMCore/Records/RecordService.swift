import Foundation
import PostgresNIO

/// The records API over any object: get, list, create, update, soft delete, restore, the
/// recycle bin and field history. Every call goes through the caller's permissions: the
/// action, the record scope as a SQL predicate (out of scope is 404), and field access
/// (hidden fields never leave; writing a read-only or hidden field is 403 naming them). What
/// the statements are is `RecordStore`'s business.
public struct RecordService: Sendable {
    let clock: any WallClock
    /// The SQL of records.
    public let store: RecordStore
    /// The modules' before- and after-save hooks, by object.
    public let hooks: RecordHooks
    /// Substring searches too short for the trigram indexes read the whole table: one at a time
    /// per tenant, the next gets 429 at once.
    let scans = TenantGate(limits: .init(maxConnections: 1, maxQueued: 0))
    /// The statement timeout of such a search.
    public static let scanTimeout = "2s"

    public init(clock: any WallClock, hooks: RecordHooks = .none, constraints: [String: ConstraintError] = [:]) {
        self.clock = clock
        self.hooks = hooks
        self.store = RecordStore(constraints: constraints)
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
        guard let fetched = try await store.fetch(object, id: id, fields: caller.visibleFields(object), caller: caller, in: tx) else {
            throw CRMError.notFound("No such \(object.label.lowercased()).")
        }
        return fetched
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
        try await store.page(object, query: query, fields: caller.visibleFields(object), deleted: deleted, caller: caller, in: tx)
    }

    public func history(_ objectName: String, id: UUID, caller: RecordCaller, in tx: Transaction) async throws -> [HistoryEntry] {
        let object = try caller.readable(objectName)
        guard try await store.exists(object, id: id, live: nil, caller: caller, in: tx) else {
            throw CRMError.notFound("No such \(object.label.lowercased()).")
        }
        var out: [HistoryEntry] = []
        for (event, field, old, new, actor, name, at) in try await store.history(object, id: id, in: tx) {
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
        let actor = caller.actor(origin)
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
        let hooks = hooks.hooks(for: object.apiName, metadata: caller.metadata)
        var annotations: [String: JSONValue] = [:]
        if !hooks.isEmpty {
            var withOwner = values
            if let field = object.field("owner_id") { withOwner["owner_id"] = (field, .text(owner.uuidString.lowercased())) }
            let write = RecordWrite(object: object, event: .created, id: id, values: withOwner, sent: body, before: [:], caller: caller, actor: actor,
                                    options: options)
            for hook in hooks { annotations.merge(try await hook.beforeSave(write, in: tx)) { _, new in new } }
            try await derive(object, write, hooks: hooks, into: &values, in: tx)
        }
        let ordered = values.values.sorted { $0.0.position < $1.0.position }
        var fetched = try await store.insert(object, id: id, owner: owner, values: ordered, visible: caller.visibleFields(object),
                                             by: caller.userId, actor: actor, at: now, changes: !hooks.isEmpty, in: tx)
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
        let actor = caller.actor(origin)
        guard let (version, owner, oldJSON) = try await store.lockLive(object, id: id, tracked: RecordStore.trackedFields(object),
                                                                     caller: caller, in: tx) else {
            throw CRMError.notFound("No such \(object.label.lowercased()).")
        }
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
        let hooks = hooks.hooks(for: object.apiName, metadata: caller.metadata)
        var annotations: [String: JSONValue] = [:]
        if !hooks.isEmpty {
            guard case .object(let before)? = JSONValue.parse(oldJSON) else { throw CRMError.conflict("The record could not be read.") }
            var withOwner = values
            if let newOwner, let field = object.field("owner_id") { withOwner["owner_id"] = (field, .text(newOwner.uuidString.lowercased())) }
            let write = RecordWrite(object: object, event: .updated, id: id, values: withOwner, sent: body, before: before, caller: caller, actor: actor,
                                    options: options)
            for hook in hooks { annotations.merge(try await hook.beforeSave(write, in: tx)) { _, new in new } }
            try await derive(object, write, hooks: hooks, into: &values, in: tx)
        }
        let ordered = values.values.sorted { $0.0.position < $1.0.position }
        guard var fetched = try await store.update(object, id: id, oldJSON: oldJSON, values: ordered, newOwner: newOwner, system: system,
                                                   visible: caller.visibleFields(object), by: caller.userId, actor: actor, at: now,
                                                   changes: !hooks.isEmpty, in: tx) else {
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

    /// The hooks' derived values of system fields, merged into the write (a field the object
    /// does not have is a programming error of the hook, skipped).
    func derive(_ object: ObjectDefinition, _ write: RecordWrite, hooks: [any RecordHook], into values: inout [String: (FieldDefinition, BoundValue)],
                in tx: Transaction) async throws {
        for hook in hooks {
            for (key, value) in try await hook.derive(write, in: tx) {
                guard let field = object.field(key) else { continue }
                values[key] = (field, value)
            }
        }
    }

    public func delete(_ objectName: String, id: UUID, ifMatch: Int64?, caller: RecordCaller, in tx: Transaction) async throws {
        let object = try caller.readable(objectName)
        let now = clock.now()
        guard let (version, owner, _) = try await store.lockLive(object, id: id, tracked: nil, caller: caller, in: tx) else {
            throw CRMError.notFound("No such \(object.label.lowercased()).")
        }
        guard caller.permissions.reaches(.delete, on: objectName, ownedBy: owner) else {
            throw CRMError.forbidden("You may read this \(object.label.lowercased()) but not delete it.")
        }
        if let ifMatch, ifMatch != version {
            throw CRMError(.preconditionFailed, "The record changed since you read it (version \(version) now); read it again.")
        }
        for hook in hooks.hooks(for: object.apiName, metadata: caller.metadata) {
            try await hook.beforeDelete(RecordDelete(object: object, id: id, caller: caller), in: tx)
        }
        let actor = caller.actor("api")
        try await store.softDelete(object, id: id, by: caller.userId, actor: actor, at: now, in: tx)
    }

    /// Takes a record out of the recycle bin, for callers who may delete it.
    public func restore(_ objectName: String, id: UUID, caller: RecordCaller, in tx: Transaction) async throws -> Fetched {
        let object = try caller.readable(objectName)
        let now = clock.now()
        guard let owner = try await store.lockDeleted(object, id: id, caller: caller, in: tx) else { throw CRMError.notFound("No such \(object.label.lowercased()) in the recycle bin.") }
        guard caller.permissions.reaches(.delete, on: objectName, ownedBy: owner) else {
            throw CRMError.forbidden("You may see this \(object.label.lowercased()) but not restore it.")
        }
        let actor = caller.actor("api")
        guard let fetched = try await store.restore(object, id: id, visible: caller.visibleFields(object), actor: actor, at: now, in: tx) else {
            throw CRMError.notFound("No such \(object.label.lowercased()) in the recycle bin.")
        }
        return fetched
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
                if try await !store.exists(target, id: id, live: true, caller: caller, in: tx) { errors.add(name, "lookup_not_found", "No such \(target.label.lowercased()).") }
            case .user:
                if try await !store.isActiveUser(id, in: tx) { errors.add(name, "user_not_found", "No such active user.") }
            default: break
            }
        }
        if let extraUser, try await !store.isActiveUser(extraUser, in: tx) {
            errors.add("owner_id", "user_not_found", "No such active user.")
        }
        try errors.throwIfAny()
    }

    /// Unique fields: a clear 409 before writing (a conflict with the stored data, as when the
    /// unique index decides a race); the index still decides races.
    func checkUnique(_ object: ObjectDefinition, values: [String: (FieldDefinition, BoundValue)], excluding id: UUID,
                     in tx: Transaction) async throws {
        var errors = FieldErrors()
        for (name, (field, value)) in values.sorted(by: { $0.key < $1.key }) where field.unique && value != .null {
            if try await store.isTaken(object, field, value, excluding: id, in: tx) {
                errors.add(name, "unique_violation", "Another \(object.label.lowercased()) has this value.")
            }
        }
        if !errors.isEmpty {
            throw CRMError(.conflict, "Another \(object.label.lowercased()) has this value.", fieldErrors: errors.errors)
        }
    }
}
