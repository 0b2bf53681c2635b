import Foundation
import PostgresNIO

/// One apply of a blueprint to one tenant, inside its transaction: each step compares the file
/// with what the tenant has and calls the same services the admin API calls, so every rule
/// they enforce holds here too. A service's refusal becomes a problem at the file position of
/// the part that caused it, and the transaction rolls back.
final class Convergence: @unchecked Sendable {
    let services: AppServices
    let bp: Blueprint
    let file: String
    let prune: Bool
    let created: Bool
    let tx: Transaction
    var tenant: Tenant
    var changes: [String] = []
    var notInFile: [String] = []
    var passwords: [(email: String, password: String)] = []
    var changedModules: [(String, Bool)] = []
    var enabledAfter: [String] = []
    var secrets: [(what: String, secret: String)] = []
    var schedules: [(kind: String, cron: String)] = []

    var actor: Principal!
    var caller: EffectivePermissions!
    var meta: RequestMeta { BlueprintApplier.meta }

    init(services: AppServices, bp: Blueprint, file: String, tenant: Tenant, prune: Bool, created: Bool, tx: Transaction) {
        self.services = services
        self.bp = bp
        self.file = file
        self.tenant = tenant
        self.prune = prune
        self.created = created
        self.tx = tx
    }

    func converge() async throws {
        guard let admin = try await firstAdmin() else {
            throw problem(.init(line: 1, column: 1), "The tenant has no active admin to act as.")
        }
        actor = Principal(user: admin, tokenId: UUID(), tokenKind: "blueprint", readOnly: false)
        caller = EffectivePermissions.legacy(user: admin.id, isAdmin: true)
        try await tenantAttributes()
        try await modules()
        let departments = try await departmentTree()
        let roles = try await roleSet()
        try await userSet(departments: departments, roles: roles)
        try await managers()
        // After the users moved: a department the file drops may have held some of them.
        try await pruneDepartments()
        try await objects(roles: roles)
        try await checkFieldGrants()
        try await moduleSettings()
        enabledAfter = ModuleRegistry.standard.modules.map(\.id).filter(try await enabledModules().contains)
        try await sections()
        if created { try await sampleRecords() }
    }

    // MARK: problems

    func problem(_ at: Blueprint.Position, _ message: String) -> BlueprintProblems {
        BlueprintProblems([BlueprintProblem(file: file, at: at, message)])
    }

    /// Runs a service call; its refusal becomes a problem at `at`, naming `what`.
    func at<T>(_ at: Blueprint.Position, _ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CRMError {
            let fields = error.fieldErrors.map { "\($0.field): \($0.message)" }
            throw problem(at, "\(what): \(error.detail)" + (fields.isEmpty ? "" : " " + fields.joined(separator: "; ")))
        }
    }

    func firstAdmin() async throws -> User? {
        let rows = try await tx.query("""
            SELECT \(unescaped: UserStore.userColumns) FROM users WHERE is_active AND is_admin ORDER BY created_at, id LIMIT 1
            """)
        for try await (id, email, name, active, admin, dept, created) in rows.decode((UUID, String, String, Bool, Bool, UUID?, Date).self) {
            return User(id: id, email: email, name: name, isActive: active, isAdmin: admin, departmentId: dept, createdAt: created)
        }
        return nil
    }

    // MARK: tenant and modules

    func tenantAttributes() async throws {
        var errors = FieldErrors()
        let name = TextRules.check(bp.name, field: "name", max: 200, into: &errors)
        if let e = errors.errors.first { throw problem(bp.at("name"), "name: \(e.message)") }
        let timeZone = bp.timeZone ?? tenant.timeZone, locale = bp.locale ?? tenant.locale
        if !TenantService.isValidLocale(locale) { throw problem(bp.at("locale"), "Use a locale such as en or zh-CN.") }
        var diffs: [String] = []
        if tenant.name != name { diffs.append("name '\(tenant.name)' → '\(name)'") }
        if tenant.plan != bp.plan { diffs.append("plan \(tenant.plan) → \(bp.plan)") }
        if tenant.timeZone != timeZone { diffs.append("time_zone \(tenant.timeZone) → \(timeZone)") }
        if tenant.locale != locale { diffs.append("locale \(tenant.locale) → \(locale)") }
        guard !diffs.isEmpty else { return }
        let plans = try await services.tenants.plans()
        guard plans.contains(where: { $0.id == bp.plan }) else {
            throw problem(bp.at("plan"), "Unknown plan '\(bp.plan)'; one of: \(plans.map(\.id).joined(separator: ", ")).")
        }
        if TimeZone(identifier: timeZone) == nil { throw problem(bp.at("time_zone"), "Unknown time_zone '\(timeZone)'.") }
        // The catalog row is the platform's: written as the login role.
        try await tx.asPlatform {
            try await tx.execute("""
                UPDATE platform.tenants SET name = \(name), plan_id = \(bp.plan), time_zone = \(timeZone), locale = \(locale),
                    updated_at = now()
                WHERE id = \(tenant.id)
                """)
        }
        tenant.name = name
        tenant.plan = bp.plan
        tenant.timeZone = timeZone
        tenant.locale = locale
        try await AuditLog().record(AuditEntry(actorType: "user", actorId: actor.user.id, actorLabel: actor.user.email, action: "tenant.update",
                                               targetType: "tenant", targetId: tenant.id.uuidString.lowercased(),
                                               details: ["changes": diffs.joined(separator: "; "), "by": "blueprint"]),
                                    meta: meta, at: services.clock.now(), in: tx)
        changes.append("~ tenant: " + diffs.joined(separator: ", "))
    }

    func enabledModules() async throws -> Set<String> {
        var on = Set(ModuleRegistry.standard.modules.filter(\.alwaysOn).map(\.id))
        for try await id in try await tx.query("SELECT id FROM modules WHERE enabled").decode(String.self) { on.insert(id) }
        return on
    }

    func modules() async throws {
        let registry = ModuleRegistry.standard
        var enabled = try await enabledModules()
        let plan = try await services.modules.planModules(tenant: tenant, db: services.db)
        let wanted = Set(bp.modules)
        for module in registry.modules where wanted.contains(module.id) && !enabled.contains(module.id) {
            _ = try await at(bp.at("modules"), "module \(module.id)") {
                try await services.modules.enable(module.id, tenant: tenant, enabled: enabled, plan: plan, actor: actor, meta: meta, in: tx)
            }
            enabled.insert(module.id)
            changedModules.append((module.id, true))
            changes.append("+ module \(module.id)")
        }
        for module in registry.modules.reversed() where enabled.contains(module.id) && !module.alwaysOn && !wanted.contains(module.id) {
            if prune {
                _ = try await at(bp.at("modules"), "module \(module.id)") {
                    try await services.modules.disable(module.id, tenant: tenant, enabled: enabled, plan: plan, actor: actor, meta: meta, in: tx)
                }
                enabled.remove(module.id)
                changedModules.append((module.id, false))
                changes.append("- module \(module.id) (disabled; its data stays)")
            } else {
                notInFile.append("module \(module.id) is enabled")
            }
        }
    }

    // MARK: org

    /// Departments by name, after creating the missing ones (parents first) and moving the rest.
    func departmentTree() async throws -> [String: UUID] {
        var byName: [String: UUID] = [:]
        var current: [String: Department] = [:]
        for d in try await services.departments.list(in: tx) {
            // Names are not unique in a tenant, but a blueprint matches departments by name.
            if current[d.name] != nil {
                throw problem(bp.at("departments"), "The tenant has two departments named '\(d.name)'; rename one (admin API) before applying a blueprint.")
            }
            current[d.name] = d
            byName[d.name] = d.id
        }
        let parentName: [UUID: String] = Dictionary(uniqueKeysWithValues: current.values.map { ($0.id, $0.name) })
        // Parents before children (the checker has refused cycles and unknown parents), so a
        // move never makes a cycle on the way.
        var pending = bp.departments
        while let i = pending.firstIndex(where: { d in d.parent.map { p in !pending.contains { $0.name == p } } ?? true }) {
            let d = pending.remove(at: i)
            let parentId = d.parent.flatMap { byName[$0] }
            if let have = current[d.name] {
                guard have.parentId != parentId else { continue }
                _ = try await at(d.at, "department '\(d.name)'") {
                    try await services.departments.update(have.id, name: nil, parentId: parentId.map { .value($0) } ?? .null, managerId: .absent,
                                                          actor: actor, caller: caller, meta: meta, in: tx)
                }
                let from = have.parentId.flatMap { parentName[$0] } ?? "top level"
                changes.append("~ department '\(d.name)': under '\(from)' → '\(d.parent ?? "top level")'")
            } else {
                let made = try await at(d.at, "department '\(d.name)'") {
                    try await services.departments.create(name: d.name, parentId: parentId, managerId: nil, actor: actor, caller: caller,
                                                          meta: meta, in: tx)
                }
                byName[d.name] = made.id
                changes.append("+ department '\(d.name)'" + (d.parent.map { " under '\($0)'" } ?? ""))
            }
        }
        return byName
    }

    /// Departments the file leaves out: reported, or deleted with prune (leaves first).
    func pruneDepartments() async throws {
        var current: [String: Department] = [:]
        for d in try await services.departments.list(in: tx) { current[d.name] = d }
        let wanted = Set(bp.departments.map(\.name))
        // Children before parents, so a pruned subtree empties from the leaves.
        let absent = current.values.filter { !wanted.contains($0.name) }.sorted { depth($0, current) > depth($1, current) }
        for d in absent {
            if prune {
                try await at(bp.at("departments"), "department '\(d.name)'") {
                    try await services.departments.delete(d.id, actor: actor, meta: meta, in: tx)
                }
                changes.append("- department '\(d.name)'")
            } else {
                notInFile.append("department '\(d.name)'")
            }
        }
    }

    func depth(_ d: Department, _ all: [String: Department]) -> Int {
        let byId = Dictionary(uniqueKeysWithValues: all.values.map { ($0.id, $0) })
        var n = 0, cursor = d.parentId
        while let id = cursor, n < 100 { n += 1; cursor = byId[id]?.parentId }
        return n
    }

    /// Role ids by name and by built-in key, after creating and updating the file's roles.
    func roleSet() async throws -> [String: UUID] {
        var ids: [String: UUID] = [:]
        var current: [String: Role] = [:]
        for r in try await services.roles.list(in: tx) {
            if let key = r.builtin { ids[key] = r.id } else { current[r.name] = r; ids[r.name] = r.id }
        }
        for r in bp.roles {
            let permissions = r.permissions.map { Role.Permission(object: $0.object, actions: $0.actions, scope: $0.scope) }
            let fields = r.fields.map { Role.Field(object: $0.object, field: $0.field, access: $0.access) }
            if let have = current[r.name] {
                // Compared as the grants they make (one scope per object and action), as stored.
                var ignored = FieldErrors()
                let want = Role.grants(permissions: permissions, fields: fields, capabilities: r.capabilities, into: &ignored)
                let held = Role.grants(permissions: have.permissions, fields: have.fields, capabilities: have.capabilities, into: &ignored)
                var what: [String] = []
                if have.description != r.description { what.append("description") }
                if want.permissions != held.permissions { what.append("permissions") }
                if want.fields != held.fields { what.append("field access") }
                if want.capabilities != held.capabilities { what.append("capabilities") }
                guard !what.isEmpty else { continue }
                _ = try await at(r.at, "role '\(r.name)'") {
                    try await services.roles.update(have.id, name: nil, description: r.description, permissions: permissions, fields: fields,
                                                    capabilities: r.capabilities, caller: caller, actor: actor, meta: meta, in: tx)
                }
                changes.append("~ role '\(r.name)': " + what.joined(separator: ", "))
            } else {
                let made = try await at(r.at, "role '\(r.name)'") {
                    try await services.roles.create(name: r.name, description: r.description, permissions: permissions, fields: fields,
                                                    capabilities: r.capabilities, caller: caller, actor: actor, meta: meta, in: tx)
                }
                ids[r.name] = made.id
                changes.append("+ role '\(r.name)'")
            }
        }
        let wanted = Set(bp.roles.map(\.name))
        for (name, role) in current.sorted(by: { $0.key < $1.key }) where !wanted.contains(name) {
            if prune {
                let model = try await AccessModel.load(version: 0, in: tx)
                try await at(bp.at("roles"), "role '\(name)'") {
                    try await services.roles.delete(role.id, caller: caller, model: model, actor: actor, meta: meta, in: tx)
                }
                ids[name] = nil
                changes.append("- role '\(name)'")
            } else {
                notInFile.append("role '\(name)'")
            }
        }
        return ids
    }

    func userSet(departments: [String: UUID], roles: [String: UUID]) async throws {
        var current: [String: AdminUser] = [:]
        for u in try await services.userAdmin.list(in: tx) { current[u.email.lowercased()] = u }
        let departmentName = Dictionary(uniqueKeysWithValues: departments.map { ($0.value, $0.key) })
        for u in bp.users {
            let deptId = u.department.flatMap { departments[$0] }
            let roleIds = u.roles.compactMap { roles[$0] }
            let authority = UserAdminService.Authority(caller: caller, model: try await AccessModel.load(version: 0, in: tx))
            if let have = current[u.email.lowercased()] {
                var what: [String] = []
                if have.name != u.name { what.append("name") }
                if have.departmentId != deptId {
                    what.append("department '\(have.departmentId.flatMap { departmentName[$0] } ?? "none")' → '\(u.department ?? "none")'")
                }
                if Set(have.roleIds) != Set(roleIds) { what.append("roles") }
                if !have.isActive { what.append("reactivated") }
                guard !what.isEmpty else { continue }
                _ = try await at(u.at, "user '\(u.email)'") {
                    try await services.userAdmin.update(have.id, name: have.name != u.name ? u.name : nil,
                                                        departmentId: deptId.map { .value($0) } ?? .null,
                                                        roleIds: Set(have.roleIds) != Set(roleIds) ? roleIds : nil,
                                                        isActive: have.isActive ? nil : true, passwordHash: nil,
                                                        authority: authority, actor: actor, meta: meta, in: tx)
                }
                changes.append("~ user \(u.email): " + what.joined(separator: ", "))
            } else {
                let password = BlueprintApplier.generatedPassword()
                let hash = try await services.hasher.hash(password)
                _ = try await at(u.at, "user '\(u.email)'") {
                    try await services.userAdmin.create(email: u.email, name: u.name, passwordHash: hash, departmentId: deptId, roleIds: roleIds,
                                                        authority: authority, actor: actor, meta: meta, in: tx)
                }
                passwords.append((u.email, password))
                changes.append("+ user \(u.email) (\(u.roles.joined(separator: ", ")))")
            }
        }
        let wanted = Set(bp.users.map { $0.email.lowercased() })
        for (email, u) in current.sorted(by: { $0.key < $1.key }) where !wanted.contains(email) && u.isActive {
            notInFile.append("user \(u.email) (users are never removed by apply; deactivate them in the admin API)")
        }
    }

    func managers() async throws {
        var users: [String: UUID] = [:]
        for u in try await services.userAdmin.list(in: tx) { users[u.email.lowercased()] = u.id }
        let current = try await services.departments.list(in: tx)
        for d in bp.departments {
            guard let have = current.first(where: { $0.name == d.name }) else { continue }
            let want = d.manager.flatMap { users[$0.lowercased()] }
            guard have.managerId != want else { continue }
            _ = try await at(d.at, "department '\(d.name)'") {
                try await services.departments.update(have.id, name: nil, parentId: .absent, managerId: want.map { .value($0) } ?? .null,
                                                      actor: actor, caller: caller, meta: meta, in: tx)
            }
            changes.append("~ department '\(d.name)': manager \(d.manager ?? "none")")
        }
    }

    // MARK: objects

    func metadata() async throws -> TenantMetadata { try await TenantMetadata.load(version: 0, in: tx) }

    func objects(roles: [String: UUID]) async throws {
        let schema = try tenant.schema()
        for o in bp.objects {
            for f in o.fields { try await field(f, of: o.name, schema: schema) }
            let wanted = Set(o.fields.map(\.apiName))
            let object = try await at(o.at, "object '\(o.name)'") { try await metadata().object(o.name) }
            for f in object.fields where f.isCustom && !wanted.contains(f.apiName) {
                if prune {
                    let md = try await metadata()
                    _ = try await at(o.at, "field \(o.name).\(f.apiName)") {
                        try await services.fields.delete(o.name, f.apiName, tenant: schema, metadata: md, actor: actor, meta: meta, in: tx)
                    }
                    changes.append("- field \(o.name).\(f.apiName) (deleted; restorable for \(Int(services.fields.retention / 86_400)) days)")
                } else {
                    notInFile.append("field \(o.name).\(f.apiName)")
                }
            }
            for l in o.layouts { try await layout(l, of: o.name, roles: roles) }
        }
        // Objects the file does not mention keep their custom fields; say so.
        let mentioned = Set(bp.objects.map(\.name))
        for (name, object) in try await metadata().objects.sorted(by: { $0.key < $1.key }) where !mentioned.contains(name) {
            for f in object.fields where f.isCustom {
                if prune {
                    let md = try await metadata()
                    _ = try await services.fields.delete(name, f.apiName, tenant: schema, metadata: md, actor: actor, meta: meta, in: tx)
                    changes.append("- field \(name).\(f.apiName) (deleted; restorable)")
                } else {
                    notInFile.append("field \(name).\(f.apiName)")
                }
            }
        }
    }

    func field(_ f: Blueprint.Field, of objectName: String, schema: TenantSchema) async throws {
        let md = try await metadata()
        let object = try await at(f.at, "object '\(objectName)'") { try md.object(objectName) }
        let name = "field \(objectName).\(f.apiName)"
        if object.field(f.apiName) == nil, object.deletedFields.contains(where: { $0.apiName == f.apiName }) {
            _ = try await at(f.at, name) {
                try await services.fields.restore(objectName, f.apiName, tenant: schema, metadata: md, actor: actor, meta: meta, in: tx)
            }
            changes.append("+ \(name) (restored with its data)")
            return try await field(f, of: objectName, schema: schema)
        }
        guard let have = object.field(f.apiName) else {
            guard f.type != nil, f.label != nil else {
                throw problem(f.at, "\(name) is not a field of \(objectName); a new field needs label and type.")
            }
            var input = FieldAdminService.Input()
            input.apiName = f.apiName
            input.label = f.label
            input.type = f.type
            input.required = f.required
            input.unique = f.unique
            input.filterable = f.filterable
            input.searchable = f.searchable
            input.default = f.defaultValue
            var options = f.options
            options.values = f.values
            input.options = options
            _ = try await at(f.at, name) {
                try await services.fields.add(objectName, input: input, tenant: schema, metadata: md, actor: actor, meta: meta, in: tx)
            }
            changes.append("+ \(name) (\(f.type!))")
            return
        }
        if have.isSystem { throw problem(f.at, "\(name) is a system field; it cannot be configured.") }
        var input = FieldAdminService.Input()
        var what: [String] = []
        if let label = f.label, label != have.label { input.label = label; what.append("label '\(have.label)' → '\(label)'") }
        // A custom field is declared whole (left out means false); a standard field keeps what is left out.
        if let required = have.isCustom ? (f.required ?? false) : f.required, required != have.required {
            input.required = required
            what.append("required \(required)")
        }
        var wantValues = f.values
        if let values = f.values {
            // A value the file drops may be on records: kept, inactive, unless pruned.
            let dropped = have.options.orderedValues.filter { v in !values.contains { $0.value == v.value } }
            if !prune {
                wantValues = values + dropped.map { PicklistValue(value: $0.value, label: $0.label, active: false) }
                notInFile += dropped.map { "picklist value \(objectName).\(f.apiName): '\($0.value)' (kept, inactive)" }
            }
        }
        if let values = wantValues, Self.picklist(values) != Self.picklist(have.options.orderedValues) {
            var options = have.options
            options.values = values
            input.options = options
            what.append("picklist values")
        }
        if !have.isCustom {
            if f.type != nil && f.type != have.type.rawValue || f.unique != nil || f.filterable != nil || f.searchable != nil
                || f.defaultValue != nil || f.options != FieldOptions()
            {
                throw problem(f.at, "\(name) is a standard field: a blueprint may set its label, required and picklist values only.")
            }
        } else {
            if let type = f.type, type != have.type.rawValue { input.type = type; what.append("type \(have.type.rawValue) → \(type)") }
            // Flags left out stay as they are (a new field gets the service's defaults).
            for (flag, want, current) in [("unique", f.unique, have.unique), ("filterable", f.filterable, have.filterable),
                                          ("searchable", f.searchable, have.searchable)] where want != nil && want != current {
                throw problem(f.at, "\(name): \(flag) is fixed when a field is created (it is \(current) here).")
            }
            if (f.defaultValue ?? .null) != (have.defaultValue ?? .null) {
                input.default = f.defaultValue ?? .null
                what.append("default")
            }
            // Options left out stay as they are (the service fills defaults such as a currency code).
            var haveOptions = have.options
            haveOptions.values = nil
            var wantOptions = haveOptions
            let o = f.options
            if let v = o.maxLength { wantOptions.maxLength = v }
            if let v = o.precision { wantOptions.precision = v }
            if let v = o.scale { wantOptions.scale = v }
            if let v = o.currencyCode { wantOptions.currencyCode = v }
            if let v = o.target { wantOptions.target = v }
            if let v = o.pattern { wantOptions.pattern = v }
            if let v = o.min { wantOptions.min = v }
            if let v = o.max { wantOptions.max = v }
            if wantOptions != haveOptions {
                var options = wantOptions
                options.values = input.options?.values ?? have.options.values
                input.options = options
                what.append("options")
            }
        }
        guard !what.isEmpty else { return }
        _ = try await at(f.at, name) {
            try await services.fields.update(objectName, f.apiName, input: input, tenant: schema, metadata: md, actor: actor, meta: meta, in: tx)
        }
        changes.append("~ \(name): " + what.joined(separator: ", "))
    }

    /// A role's field access must name fields that exist (after this apply's fields), or the
    /// field the admin meant to hide stays visible.
    func checkFieldGrants() async throws {
        let md = try await metadata()
        for role in bp.roles {
            for g in role.fields {
                guard let object = md.objects[g.object] else { continue }  // a module that is off keeps its grants
                if object.field(g.field) == nil {
                    throw problem(role.at, "Role '\(role.name)': \(g.object) has no field '\(g.field)' to set access for.")
                }
            }
        }
    }

    static func picklist(_ values: [PicklistValue]) -> [String] { values.map { "\($0.value)|\($0.label)|\($0.active)" } }

    func layout(_ l: Blueprint.Layout, of objectName: String, roles: [String: UUID]) async throws {
        let roleId = l.role.flatMap { roles[$0] }
        var current: String?
        let rows = try await tx.query("""
            SELECT sections::text FROM layouts WHERE object = \(objectName) AND role_id IS NOT DISTINCT FROM \(roleId)
            """)
        for try await text in rows.decode(String.self) { current = text }
        let have = current.flatMap { try? JSONDecoder().decode([LayoutService.Section].self, from: Data($0.utf8)) }
        guard have != l.sections else { return }
        let md = try await metadata()
        try await at(l.at, "layout of \(objectName)") {
            try await services.layouts.put(objectName, roleId: roleId, sections: l.sections, metadata: md, in: tx)
        }
        changes.append("~ layout of \(objectName)" + (l.role.map { " for '\($0)'" } ?? ""))
    }

    // MARK: settings and samples

    /// Each module setting the blueprint names is stored when it differs.
    func moduleSettings() async throws {
        for section in bp.settings {
            guard let module = services.registry.module(section.module) else { continue }
            for value in section.values {
                guard let setting = module.settings.first(where: { $0.name == value.name }) else { continue }
                let changed = try await at(value.at, value.name) { try await setting.storeJSON(value.value, in: tx) }
                if changed { changes.append("~ setting \(setting.key)") }
            }
        }
    }


    /// The core's and enabled modules' sections, in order (endpoints and processes before the
    /// rules that name them). A section the file leaves out converges to empty: reported, or
    /// removed with prune.
    func sections() async throws {
        let run = BlueprintRun(services: services, tx: tx, tenant: tenant, file: file, prune: prune, actor: actor, permissions: caller)
        for (module, section) in BlueprintSections.all(services.registry) where module.map { enabledAfter.contains($0) } ?? true {
            try await section.converge(bp.sections[section.key] ?? Blueprint.Section(key: section.key), in: run)
        }
        changes += run.changes
        notInFile += run.notInFile
        secrets += run.secrets
        schedules += run.schedules
    }

    func sampleRecords() async throws {
        guard !bp.sampleRecords.isEmpty else { return }
        var users: [String: UUID] = [:]
        for u in try await services.userAdmin.list(in: tx) { users[u.email.lowercased()] = u.id }
        var caller = RecordCaller(principal: actor, permissions: self.caller, metadata: try await metadata(), meta: meta)
        caller.zone = tenant.zone
        var refs: [String: UUID] = [:]
        var counts: [String: Int] = [:]
        for rec in bp.sampleRecords {
            var body = rec.values
            for (field, ref) in rec.refs { body[field] = refs[ref].map { .string($0.uuidString.lowercased()) } ?? .null }
            if let owner = rec.owner { body["owner_id"] = users[owner.lowercased()].map { .string($0.uuidString.lowercased()) } ?? .null }
            let made = try await at(rec.at, "sample \(rec.object)") {
                try await services.records.create(rec.object, body: body, caller: caller, in: tx)
            }
            if let ref = rec.ref, case .object(let o)? = JSONValue.parse(made.json), case .string(let id)? = o["id"],
               let uuid = UUID(uuidString: id)
            {
                refs[ref] = uuid
            }
            counts[rec.object, default: 0] += 1
        }
        changes.append("+ sample records: " + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
    }
}
