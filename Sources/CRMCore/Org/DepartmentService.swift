import Foundation
import PostgresNIO

/// The department tree: create, rename, move (never into its own subtree), set a manager,
/// delete only when empty. Every change bumps the access version and is audited. A change that
/// would let anyone reach records neither they nor the caller reached is refused
/// (`OrgChangeGuard`): managing a department, or moving one, brings its members into reach.
public struct DepartmentService: Sendable {
    let clock: any WallClock
    let audit = AuditLog()

    public init(clock: any WallClock) { self.clock = clock }

    public func list(in tx: Transaction) async throws -> [Department] {
        var out: [Department] = []
        for try await (id, name, parent, manager, created) in try await tx.query(
            "SELECT id, name, parent_id, manager_id, created_at FROM departments ORDER BY name, id").decode((UUID, String, UUID?, UUID?, Date).self)
        {
            out.append(Department(id: id, name: name, parentId: parent, managerId: manager, createdAt: created))
        }
        return out
    }

    public func find(_ id: UUID, in tx: Transaction) async throws -> Department? {
        for try await (id, name, parent, manager, created) in try await tx.query(
            "SELECT id, name, parent_id, manager_id, created_at FROM departments WHERE id = \(id)").decode((UUID, String, UUID?, UUID?, Date).self)
        {
            return Department(id: id, name: name, parentId: parent, managerId: manager, createdAt: created)
        }
        return nil
    }

    /// `caller`: the actor's permissions as the request has them; nil to read them from the
    /// tenant's model under the lock.
    public func create(name: String, parentId: UUID?, managerId: UUID?, actor: Principal, caller: EffectivePermissions? = nil,
                       meta: RequestMeta, in tx: Transaction) async throws -> Department {
        let change = try await OrgChangeGuard.begin(caller: caller, actor: actor.user.id, in: tx)
        try await lockTree(in: tx)
        var errors = FieldErrors()
        let name = TextRules.check(name, field: "name", max: 100, into: &errors)
        if let parentId, try await !exists("departments", parentId, in: tx) {
            errors.add("parent_id", "not_found", "No such department.")
        }
        if let managerId, try await !exists("users", managerId, in: tx) {
            errors.add("manager_id", "not_found", "No such user.")
        }
        try errors.throwIfAny()
        let now = clock.now()
        let dept = Department(id: UUID.v7(now: now), name: name, parentId: parentId, managerId: managerId, createdAt: now)
        try await tx.execute("""
            INSERT INTO departments (id, name, parent_id, manager_id, created_at, updated_at)
            VALUES (\(dept.id), \(dept.name), \(dept.parentId), \(dept.managerId), \(now), \(now))
            """)
        try await change.requireNoWidening(in: tx)
        try await changed("department.create", dept, actor: actor, meta: meta, in: tx)
        return dept
    }

    public func update(_ id: UUID, name: String?, parentId: Patch<UUID>, managerId: Patch<UUID>, actor: Principal,
                       caller: EffectivePermissions? = nil, meta: RequestMeta, in tx: Transaction) async throws -> Department {
        let change = try await OrgChangeGuard.begin(caller: caller, actor: actor.user.id, in: tx)
        try await lockTree(in: tx)
        guard var dept = try await lock(id, in: tx) else { throw CRMError.notFound("No such department.") }
        var errors = FieldErrors()
        if let name { dept.name = TextRules.check(name, field: "name", max: 100, into: &errors) }
        if case .value(let manager) = managerId, try await !exists("users", manager, in: tx) {
            errors.add("manager_id", "not_found", "No such user.")
        }
        if case .value(let parent) = parentId, try await !exists("departments", parent, in: tx) {
            errors.add("parent_id", "not_found", "No such department.")
        }
        try errors.throwIfAny()
        if case .value(let parent) = parentId {
            // A move under itself or under one of its descendants would make a cycle.
            let rows = try await tx.query("""
                WITH RECURSIVE below AS (
                    SELECT id FROM departments WHERE id = \(id)
                    UNION SELECT d.id FROM departments d JOIN below b ON d.parent_id = b.id)
                SELECT count(*)::int4 FROM below WHERE id = \(parent)
                """)
            for try await n in rows.decode(Int32.self) where n > 0 {
                throw CRMError.conflict("Moving the department under \(parent == id ? "itself" : "one of its own sub-departments") would make a cycle.")
            }
        }
        if let v = parentId.newValue { dept.parentId = v }
        if let v = managerId.newValue { dept.managerId = v }
        try await tx.execute("""
            UPDATE departments SET name = \(dept.name), parent_id = \(dept.parentId), manager_id = \(dept.managerId),
                updated_at = \(clock.now()) WHERE id = \(id)
            """)
        if parentId.isPresent || managerId.isPresent {
            try await change.requireNoWidening(in: tx)
        }
        try await changed(parentId.isPresent ? "department.move" : "department.update", dept, actor: actor, meta: meta, in: tx)
        return dept
    }

    /// Deletes an empty department; otherwise 409 saying what is left in it. Only an empty leaf
    /// goes, so no record owner leaves or enters anyone's reach: nothing to guard.
    public func delete(_ id: UUID, actor: Principal, meta: RequestMeta, in tx: Transaction) async throws {
        try await lockTree(in: tx)
        guard let dept = try await lock(id, in: tx) else { throw CRMError.notFound("No such department.") }
        var children = 0, members = 0
        for try await n in try await tx.query("SELECT count(*)::int4 FROM departments WHERE parent_id = \(id)").decode(Int32.self) { children = Int(n) }
        for try await n in try await tx.query("SELECT count(*)::int4 FROM users WHERE department_id = \(id)").decode(Int32.self) { members = Int(n) }
        if children + members > 0 {
            var left: [String] = []
            if children > 0 { left.append("\(children) sub-department\(children == 1 ? "" : "s")") }
            if members > 0 { left.append("\(members) user\(members == 1 ? "" : "s")") }
            throw CRMError.conflict("The department still has \(left.joined(separator: " and ")); move them first.")
        }
        try await tx.execute("DELETE FROM departments WHERE id = \(id)")
        try await changed("department.delete", dept, actor: actor, meta: meta, in: tx)
    }

    /// One change to the tree at a time per tenant: two moves checked side by side could
    /// together make a cycle that neither makes alone.
    func lockTree(in tx: Transaction) async throws {
        try await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('crm.departments.' || current_schema(), 0))")
    }

    func lock(_ id: UUID, in tx: Transaction) async throws -> Department? {
        for try await (id, name, parent, manager, created) in try await tx.query(
            "SELECT id, name, parent_id, manager_id, created_at FROM departments WHERE id = \(id) FOR UPDATE").decode((UUID, String, UUID?, UUID?, Date).self)
        {
            return Department(id: id, name: name, parentId: parent, managerId: manager, createdAt: created)
        }
        return nil
    }

    func exists(_ table: String, _ id: UUID, in tx: Transaction) async throws -> Bool {
        let rows = table == "users"
            ? try await tx.query("SELECT 1 FROM users WHERE id = \(id)")
            : try await tx.query("SELECT 1 FROM departments WHERE id = \(id)")
        for try await _ in rows { return true }
        return false
    }

    func changed(_ action: String, _ dept: Department, actor: Principal, meta: RequestMeta, in tx: Transaction) async throws {
        try await AccessVersion.bump(in: tx)
        try await audit.record(AuditEntry(actorType: "user", actorId: actor.user.id, actorLabel: actor.user.email, action: action,
                                          targetType: "department", targetId: dept.id.uuidString.lowercased(),
                                          details: ["name": dept.name]),
                               meta: meta, at: clock.now(), in: tx)
    }
}
