import Foundation

/// The checks a blueprint passes before anything is applied that need no database: names are
/// unique, references resolve within the file, the department tree has no cycle, objects
/// belong to enabled modules, a tenant admin is named. Problems come back all at once.
public enum BlueprintChecker {
    public static func check(_ bp: Blueprint, file: String, registry: ModuleRegistry = .standard) throws {
        var problems: [BlueprintProblem] = []
        func fail(_ at: Blueprint.Position, _ message: String) { problems.append(BlueprintProblem(file: file, at: at, message)) }

        if bp.name.trimmingCharacters(in: .whitespaces).isEmpty { fail(bp.at("name"), "name must not be empty.") }
        var enabled = Set(registry.modules.filter(\.alwaysOn).map(\.id))
        enabled.formUnion(bp.modules)
        for id in bp.modules {
            for need in registry.module(id)?.requires ?? [] where !enabled.contains(need) {
                fail(bp.at("modules"), "Module '\(id)' needs '\(need)'; add it to modules.")
            }
        }

        // Departments: unique names, known parents, no cycle.
        var departments: [String: Blueprint.Department] = [:]
        for d in bp.departments {
            if d.name.trimmingCharacters(in: .whitespaces).isEmpty { fail(d.at, "A department needs a name.") }
            if departments[d.name] != nil { fail(d.at, "Department '\(d.name)' appears twice; names are unique in a blueprint.") }
            departments[d.name] = d
        }
        let emails = Set(bp.users.map { $0.email.lowercased() })
        for d in bp.departments {
            if let parent = d.parent, departments[parent] == nil { fail(d.at, "Department '\(d.name)': no department '\(parent)' to be under.") }
            if let m = d.manager, !emails.contains(m.lowercased()) { fail(d.at, "Department '\(d.name)': manager '\(m)' is not among users.") }
            var seen: Set<String> = [d.name], cursor = d.parent
            while let p = cursor, let next = departments[p] {
                if !seen.insert(p).inserted || p == d.name {
                    fail(d.at, "Department '\(d.name)' is its own ancestor: the tree has a cycle (\(seen.sorted().joined(separator: " → "))).")
                    break
                }
                cursor = next.parent
            }
        }

        // Roles: unique names that are not built-in keys.
        var roles = Set<String>()
        for r in bp.roles {
            if r.name.trimmingCharacters(in: .whitespaces).isEmpty { fail(r.at, "A role needs a name.") }
            if Blueprint.builtinRoleKeys.contains(r.name) { fail(r.at, "'\(r.name)' is a built-in role; give yours another name.") }
            if !roles.insert(r.name).inserted { fail(r.at, "Role '\(r.name)' appears twice.") }
            // Permissions on objects of modules that are off are allowed: roles keep them while a
            // module is disabled, so export → apply must accept them.
        }

        // Users: unique emails, known departments and roles, at least one tenant admin.
        var seenEmails = Set<String>()
        for u in bp.users {
            if !EmailAddress.isValid(u.email) { fail(u.at, "'\(u.email)' is not an email address.") }
            if !seenEmails.insert(u.email.lowercased()).inserted { fail(u.at, "User '\(u.email)' appears twice.") }
            if let d = u.department, departments[d] == nil { fail(u.at, "User '\(u.email)': no department '\(d)'.") }
            for role in u.roles where !roles.contains(role) && !Blueprint.builtinRoleKeys.contains(role) {
                fail(u.at, "User '\(u.email)': no role '\(role)' (roles of this file, or \(Blueprint.builtinRoleKeys.joined(separator: ", "))).")
            }
        }
        if !bp.users.contains(where: { $0.roles.contains("tenant_admin") }) {
            fail(bp.at("users"), "Name at least one user with the role tenant_admin: the tenant needs an admin.")
        }

        // Objects and their fields.
        for o in bp.objects {
            if !objectEnabled(o.name, enabled, registry) { fail(o.at, notEnabled(o.name, registry)) }
            var names = Set<String>()
            for f in o.fields where !names.insert(f.apiName).inserted { fail(f.at, "Field '\(o.name).\(f.apiName)' appears twice.") }
            var layoutRoles = Set<String>()
            for l in o.layouts {
                if let role = l.role, !roles.contains(role) && !Blueprint.builtinRoleKeys.contains(role) {
                    fail(l.at, "Layout of '\(o.name)': no role '\(role)'.")
                }
                if !layoutRoles.insert(l.role ?? "").inserted { fail(l.at, "Two layouts of '\(o.name)' for the same role.") }
            }
        }
        for section in bp.settings {
            guard let module = registry.module(section.module) else { continue }
            if !enabled.contains(module.id) { fail(section.at, "settings.\(module.id) needs the \(module.id) module in modules.") }
            for value in section.values {
                guard let setting = module.settings.first(where: { $0.name == value.name }) else { continue }
                do { try setting.check(value.value) } catch let e as CRMError {
                    if e.fieldErrors.isEmpty { fail(value.at, "\(value.name): \(e.detail)") }
                    for fe in e.fieldErrors { fail(value.at, "\(value.name).\(fe.field): \(fe.message)") }
                }
            }
        }

        // The core's and modules' sections: a module's needs the module on.
        for (module, section) in BlueprintSections.all(registry) {
            guard let read = bp.sections[section.key] else { continue }
            if let module, !enabled.contains(module), !read.isEmpty { fail(read.at, "\(section.key) needs the \(module) module in modules.") }
            for (at, message) in section.check(read, in: bp) { fail(at, message) }
        }

        // Sample records: known objects, refs defined before use, owners among users.
        var refs = Set<String>()
        for rec in bp.sampleRecords {
            if !objectEnabled(rec.object, enabled, registry) { fail(rec.at, notEnabled(rec.object, registry)) }
            if let owner = rec.owner, !emails.contains(owner.lowercased()) { fail(rec.at, "owner '\(owner)' is not among users.") }
            for (field, ref) in rec.refs where !refs.contains(ref) {
                fail(rec.at, "\(field): no earlier sample record with ref '\(ref)'.")
            }
            if let ref = rec.ref, !refs.insert(ref).inserted { fail(rec.at, "ref '\(ref)' is used twice.") }
        }
        if !problems.isEmpty { throw BlueprintProblems(problems) }
    }

    static func notEnabled(_ object: String, _ registry: ModuleRegistry) -> String {
        guard let module = registry.modules.first(where: { $0.objectNames.contains(object) }) else {
            return "Object '\(object)' belongs to a module not built yet."
        }
        return "Object '\(object)' belongs to the \(module.id) module; add it to modules."
    }

    static func objectEnabled(_ object: String, _ enabled: Set<String>, _ registry: ModuleRegistry) -> Bool {
        guard let module = registry.modules.first(where: { $0.objectNames.contains(object) }) else { return false }
        return enabled.contains(module.id)
    }
}
