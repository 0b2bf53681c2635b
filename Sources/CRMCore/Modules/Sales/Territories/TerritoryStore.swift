import Foundation
import PostgresNIO

/// A territory as the admin API shows it.
struct Territory: Encodable, Sendable {
    struct Member: Codable, Sendable {
        var userId: UUID
        var role: String

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(userId.lowercased, forKey: .userId)
            try c.encode(role, forKey: .role)
        }
    }

    var id: UUID
    var name: String
    var parentId: UUID?
    var managerId: UUID?
    var priority: Int
    var active: Bool
    var rules: [TerritoryRule]
    var members: [Member]
    /// Live customers placed in it.
    var customerCount: Int64

    enum CodingKeys: String, CodingKey { case id, name, parentId, managerId, priority, active, rules, members, customerCount }

    /// Ids in lower case, as everywhere in the API.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id.lowercased, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(parentId?.lowercased, forKey: .parentId)
        try c.encode(managerId?.lowercased, forKey: .managerId)
        try c.encode(priority, forKey: .priority)
        try c.encode(active, forKey: .active)
        try c.encode(rules, forKey: .rules)
        try c.encode(members, forKey: .members)
        try c.encode(customerCount, forKey: .customerCount)
    }
}

extension UUID {
    /// As the API writes ids.
    var lowercased: String { uuidString.lowercased() }
}

/// Territories (`sales_territories`, `sales_territory_members`): listed, created, changed,
/// removed, their members replaced. Every bad input is a 400 naming its field, before anything
/// is written; removing a territory that customers, deals or children point at is 409 unless
/// `move_to` names where they go.
struct TerritoryStore: Sendable {
    let hooks: RecordHooks

    static let maxTerritories = 1_000
    static let maxMembers = 500

    func list(_ id: UUID? = nil, in tx: Transaction) async throws -> [Territory] {
        var out: [Territory] = []
        for try await (id, name, parent, manager, priority, active, rules, members, count) in try await tx.query("""
            SELECT t.id, t.name, t.parent_id, t.manager_id, t.priority, t.active, t.rules::text,
                   coalesce((SELECT json_agg(json_build_object('user_id', m.user_id, 'role', m.role) ORDER BY m.user_id)
                             FROM sales_territory_members m WHERE m.territory_id = t.id), '[]')::text,
                   (SELECT count(*) FROM customers c WHERE c.territory_id = t.id AND c.deleted_at IS NULL)
            FROM sales_territories t WHERE (\(id)::uuid IS NULL OR t.id = \(id)) ORDER BY t.priority, t.name, t.id
            """).decode((UUID, String, UUID?, UUID?, Int32, Bool, String, String, Int64).self) {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            out.append(Territory(id: id, name: name, parentId: parent, managerId: manager, priority: Int(priority), active: active,
                                 rules: (try? JSONDecoder().decode([TerritoryRule].self, from: Data(rules.utf8))) ?? [],
                                 members: (try? decoder.decode([Territory.Member].self, from: Data(members.utf8))) ?? [],
                                 customerCount: count))
        }
        return out
    }

    func one(_ id: UUID, in tx: Transaction) async throws -> Territory {
        guard let t = try await list(id, in: tx).first else { throw CRMError.notFound("No such territory.") }
        return t
    }

    /// Creates (`id` nil) or changes a territory from the body's members; absent members keep
    /// their value (defaults on create).
    func save(_ id: UUID?, body: [String: JSONValue], metadata: TenantMetadata, now: Date, in tx: Transaction) async throws -> Territory {
        try BodyMembers.refuseUnknown(body, allowed: ["name", "parent_id", "manager_id", "priority", "active", "rules"])
        var t: Territory
        if let id { t = try await one(id, in: tx) } else {
            t = Territory(id: UUID.v7(now: now), name: "", parentId: nil, managerId: nil, priority: 100, active: true, rules: [], members: [],
                          customerCount: 0)
        }
        var errors = FieldErrors()
        if let v = body["name"] {
            let name = v.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if name.isEmpty || name.count > 200 { errors.add("name", "invalid_value", "A name of 1 to 200 characters.") } else { t.name = name }
        } else if id == nil {
            errors.add("name", "required", "A name of 1 to 200 characters.")
        }
        if let v = body["priority"] {
            if case .number(let n) = v, (0...1_000_000).contains(n), n == Decimal(NSDecimalNumber(decimal: n).intValue) {
                t.priority = NSDecimalNumber(decimal: n).intValue
            } else {
                errors.add("priority", "out_of_range", "A whole number from 0 to 1000000; lower is tried first.")
            }
        }
        if let v = body["active"] {
            if case .bool(let b) = v { t.active = b } else { errors.add("active", "invalid_type", "true or false.") }
        }
        if let v = body["parent_id"] {
            switch v {
            case .null: t.parentId = nil
            case .string(let s):
                if let parent = UUID(uuidString: s) { t.parentId = parent } else { errors.add("parent_id", "invalid_type", "A territory id.") }
            default: errors.add("parent_id", "invalid_type", "A territory id or null.")
            }
        }
        if let v = body["manager_id"] {
            switch v {
            case .null: t.managerId = nil
            case .string(let s):
                if let user = UUID(uuidString: s) { t.managerId = user } else { errors.add("manager_id", "invalid_type", "A user id.") }
            default: errors.add("manager_id", "invalid_type", "A user id or null.")
            }
        }
        if let v = body["rules"] {
            do { t.rules = try TerritoryRule.parse(v, customer: try metadata.object("customer")) } catch let e as CRMError {
                guard e.code == .invalidInput else { throw e }
                for fe in e.fieldErrors { errors.add(fe.field, fe.code, fe.message) }
            }
        }
        try errors.throwIfAny()
        // References: the parent exists and is not the territory or one of its descendants.
        if body["parent_id"] != nil, let parent = t.parentId {
            guard try await exists("SELECT count(*) FROM sales_territories WHERE id = \(parent)", in: tx) else {
                throw CRMError.invalid("parent_id", "not_found", "No such territory.")
            }
            if let id, try await exists("""
                WITH RECURSIVE up(id, parent_id) AS (
                    SELECT id, parent_id FROM sales_territories WHERE id = \(parent)
                    UNION SELECT s.id, s.parent_id FROM sales_territories s JOIN up ON s.id = up.parent_id)
                SELECT count(*) FROM up WHERE id = \(id)
                """, in: tx) {
                throw CRMError.invalid("parent_id", "cycle", "A territory cannot sit under itself or one of its own sub-territories.")
            }
        }
        if body["manager_id"] != nil, let manager = t.managerId {
            try await checkUsers([manager], field: "manager_id", in: tx)
        }
        if try await exists("""
            SELECT count(*) FROM sales_territories WHERE parent_id IS NOT DISTINCT FROM \(t.parentId) AND name = \(t.name) AND id <> \(t.id)
            """, in: tx) {
            throw CRMError(.conflict, "A territory of this name exists at that place in the tree.",
                           fieldErrors: [FieldError(field: "name", code: "duplicate", message: "Taken by a sibling.")])
        }
        let rules = String(decoding: try JSONEncoder().encode(t.rules), as: UTF8.self)
        if id == nil {
            guard try await count("SELECT count(*) FROM sales_territories", in: tx) < Self.maxTerritories else {
                throw CRMError.conflict("At most \(Self.maxTerritories) territories.")
            }
            try await tx.execute("""
                INSERT INTO sales_territories (id, name, parent_id, manager_id, priority, active, rules, created_at, updated_at)
                VALUES (\(t.id), \(t.name), \(t.parentId), \(t.managerId), \(Int32(t.priority)), \(t.active), \(rules)::jsonb, \(now), \(now))
                """)
        } else {
            try await tx.execute("""
                UPDATE sales_territories SET name = \(t.name), parent_id = \(t.parentId), manager_id = \(t.managerId),
                    priority = \(Int32(t.priority)), active = \(t.active), rules = \(rules)::jsonb, updated_at = \(now)
                WHERE id = \(t.id)
                """)
        }
        return try await one(t.id, in: tx)
    }

    /// Replaces the members: `[{"user_id", "role"}]`, each an active user at most once.
    func setMembers(_ id: UUID, body: JSONValue, now: Date, in tx: Transaction) async throws -> Territory {
        _ = try await one(id, in: tx)
        var list = body
        if case .object(let m) = body {
            try BodyMembers.refuseUnknown(m, allowed: ["members"])
            list = m["members"] ?? .null
        }
        guard case .array(let items) = list, items.count <= Self.maxMembers else {
            throw CRMError.invalid("members", "invalid_type", "A list of at most \(Self.maxMembers) {user_id, role}.")
        }
        var errors = FieldErrors()
        var members: [Territory.Member] = []
        var seen = Set<UUID>()
        for (i, item) in items.enumerated() {
            guard case .object(let m) = item else {
                errors.add("members[\(i)]", "invalid_type", "An object {user_id, role}.")
                continue
            }
            for key in m.keys.sorted() where key != "user_id" && key != "role" {
                errors.add("members[\(i)].\(key.prefix(64))", "unknown_member", "A member has user_id and role.")
            }
            guard let text = m["user_id"]?.stringValue, let user = UUID(uuidString: text) else {
                errors.add("members[\(i)].user_id", "required", "A user id.")
                continue
            }
            if !seen.insert(user).inserted { errors.add("members[\(i)].user_id", "duplicate", "Each user once.") }
            var role = "member"
            if let r = m["role"] {
                guard let s = r.stringValue?.trimmingCharacters(in: .whitespaces), !s.isEmpty, s.count <= 50 else {
                    errors.add("members[\(i)].role", "invalid_value", "A role name of 1 to 50 characters.")
                    continue
                }
                role = s
            }
            members.append(Territory.Member(userId: user, role: role))
        }
        try errors.throwIfAny()
        try await checkUsers(members.map(\.userId), field: "members", in: tx)
        try await tx.execute("DELETE FROM sales_territory_members WHERE territory_id = \(id)")
        if !members.isEmpty {
            try await tx.execute("""
                INSERT INTO sales_territory_members (territory_id, user_id, role)
                SELECT \(id), u, r FROM unnest(\(members.map(\.userId))::uuid[], \(members.map(\.role))::text[]) AS x(u, r)
                """)
        }
        try await tx.execute("UPDATE sales_territories SET updated_at = \(now) WHERE id = \(id)")
        return try await one(id, in: tx)
    }

    /// Removes a territory. Customers, live deals and sub-territories pointing at it make it 409
    /// unless `moveTo` names another territory (not one of its own sub-territories): customers and
    /// deals move there (with history and change events), children are re-parented to it.
    func delete(_ id: UUID, moveTo: String?, caller: RecordCaller, at now: Date, in tx: Transaction) async throws {
        _ = try await one(id, in: tx)
        // Serializes with an assignment batch that might place customers here meanwhile.
        try await tx.execute("SELECT id FROM sales_territories WHERE id = \(id) FOR UPDATE")
        let customers = try await count("SELECT count(*) FROM customers WHERE territory_id = \(id) AND deleted_at IS NULL", in: tx)
        let deals = try await count("SELECT count(*) FROM opportunities WHERE territory_id = \(id) AND deleted_at IS NULL", in: tx)
        let children = try await count("SELECT count(*) FROM sales_territories WHERE parent_id = \(id)", in: tx)
        if customers + deals + children > 0 {
            guard let moveTo else {
                var error = CRMError(.conflict, "The territory holds \(customers) customers, \(deals) opportunities and \(children) "
                                     + "sub-territories; say where they go with ?move_to=.",
                                     fieldErrors: [FieldError(field: "move_to", code: "holds_records", message: "Name the territory that takes them.")])
                error.extensions["customers"] = .number(Decimal(customers))
                error.extensions["opportunities"] = .number(Decimal(deals))
                error.extensions["children"] = .number(Decimal(children))
                throw error
            }
            guard let target = UUID(uuidString: moveTo), target != id,
                  try await exists("SELECT count(*) FROM sales_territories WHERE id = \(target)", in: tx) else {
                throw CRMError.invalid("move_to", "unknown_territory", "Another territory's id.")
            }
            if try await exists("""
                WITH RECURSIVE up(id, parent_id) AS (
                    SELECT id, parent_id FROM sales_territories WHERE id = \(target)
                    UNION SELECT s.id, s.parent_id FROM sales_territories s JOIN up ON s.id = up.parent_id)
                SELECT count(*) FROM up WHERE id = \(id)
                """, in: tx) {
                throw CRMError.invalid("move_to", "cycle", "Not one of the territory's own sub-territories.")
            }
            let actor = caller.actor("sales.territory_delete")
            for (object, table) in [("customer", "customers"), ("opportunity", "opportunities")] {
                _ = try await SystemWrite(object: object, table: try SQLIdentifier(table),
                                          set: [.init(field: "territory_id", column: "territory_id", .uuid(target))], hooks: hooks)
                    .run(where: { q in q.append("t.territory_id = \(try q.bind(id))") }, actor: actor, at: now, in: tx)
            }
            try await tx.execute("UPDATE sales_territories SET parent_id = \(target), updated_at = \(now) WHERE parent_id = \(id)")
        }
        // Recycle-bin deals keep the id they had (no foreign key), as their history does.
        try await tx.execute("DELETE FROM sales_territories WHERE id = \(id)")
    }

    /// 400 naming `field` unless every id is an active user of the tenant.
    func checkUsers(_ ids: [UUID], field: String, in tx: Transaction) async throws {
        guard !ids.isEmpty else { return }
        var found = Set<UUID>()
        for try await id in try await tx.query("SELECT id FROM users WHERE id = ANY(\(ids)) AND is_active").decode(UUID.self) {
            found.insert(id)
        }
        if let missing = ids.first(where: { !found.contains($0) }) {
            throw CRMError.invalid(field, "user_not_found", "No active user \(missing.uuidString.lowercased()).")
        }
    }

    func count(_ query: PostgresQuery, in tx: Transaction) async throws -> Int64 {
        for try await n in try await tx.query(query).decode(Int64.self) { return n }
        return 0
    }

    func exists(_ query: PostgresQuery, in tx: Transaction) async throws -> Bool { try await count(query, in: tx) > 0 }
}
