import Foundation
import PostgresNIO

/// `crm tenant export-blueprint`: a tenant's configuration as a blueprint, in a fixed order
/// (departments parents first, then by name; roles, users by name and email; fields by
/// position), so exporting two tenants configured alike gives equal files. No slug and no
/// records: the file describes how a company is set up, not which tenant or what data.
public struct BlueprintExporter: Sendable {
    let services: AppServices

    public init(services: AppServices) { self.services = services }

    public func export(slug: String) async throws -> Blueprint {
        guard let tenant = try await services.db.platformTransaction({ tx in try await TenantStore().find(slug: slug, in: tx) }) else {
            throw CRMError.notFound("No tenant '\(slug)'.")
        }
        return try await services.db.transaction(for: try tenant.schema()) { tx in try await export(tenant, in: tx) }
    }

    func export(_ tenant: Tenant, in tx: Transaction) async throws -> Blueprint {
        let metadata = try await TenantMetadata.load(version: 0, in: tx)
        var bp = Blueprint(name: tenant.name, plan: tenant.plan, timeZone: tenant.timeZone, locale: tenant.locale)
        bp.modules = ModuleRegistry.standard.modules.map(\.id).filter(metadata.enabledModules.contains)

        let users = try await services.userAdmin.list(in: tx).filter(\.isActive).sorted { $0.email.lowercased() < $1.email.lowercased() }
        let email = Dictionary(uniqueKeysWithValues: users.map { ($0.id, $0.email) })
        let departments = try await services.departments.list(in: tx)
        // A blueprint names departments by name; two alike could not be told apart on apply.
        var seen = Set<String>()
        for d in departments where !seen.insert(d.name).inserted {
            throw CRMError.conflict("Two departments are named '\(d.name)'; rename one before exporting a blueprint.")
        }
        let deptName = Dictionary(uniqueKeysWithValues: departments.map { ($0.id, $0.name) })
        func add(under parent: UUID?) {
            for d in departments.filter({ $0.parentId == parent }).sorted(by: { $0.name < $1.name }) {
                bp.departments.append(.init(name: d.name, parent: parent.flatMap { deptName[$0] }, manager: d.managerId.flatMap { email[$0] }))
                add(under: d.id)
            }
        }
        add(under: nil)

        let roles = try await services.roles.list(in: tx)
        let roleName = Dictionary(uniqueKeysWithValues: roles.map { ($0.id, $0.builtin ?? $0.name) })
        for r in roles.filter({ $0.builtin == nil }).sorted(by: { $0.name < $1.name }) {
            let order = Action.allCases.map(\.rawValue)
            bp.roles.append(.init(
                name: r.name, description: r.description,
                permissions: r.permissions.map { .init(object: $0.object, actions: $0.actions.sorted { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! },
                                                       scope: $0.scope) }.sorted { $0.object < $1.object },
                fields: r.fields.map { .init(object: $0.object, field: $0.field, access: $0.access) }
                    .sorted { ($0.object, $0.field) < ($1.object, $1.field) },
                capabilities: r.capabilities.sorted()))
        }
        for u in users {
            bp.users.append(.init(email: u.email, name: u.name, department: u.departmentId.flatMap { deptName[$0] },
                                  roles: u.roleIds.compactMap { roleName[$0] }.sorted()))
        }

        var layouts: [String: [(String?, [LayoutService.Section])]] = [:]
        for try await (object, roleId, text) in try await tx.query("SELECT object, role_id, sections::text FROM layouts")
            .decode((String, UUID?, String).self)
        {
            guard let sections = try? JSONDecoder().decode([LayoutService.Section].self, from: Data(text.utf8)) else { continue }
            if let roleId, roleName[roleId] == nil { continue }
            // A layout may still name a field deleted since; another tenant would refuse it.
            let live = metadata.objects[object]
            let kept = sections.map { s in LayoutService.Section(label: s.label, fields: s.fields.filter { live?.field($0.field) != nil }) }
            layouts[object, default: []].append((roleId.flatMap { roleName[$0] }, kept))
        }
        // The registry's order, not `objects.position`: that depends on when each module's migration ran.
        let order = ModuleRegistry.standard.modules.flatMap(\.objectNames)
        func rank(_ o: ObjectDefinition) -> (Int, String) { (order.firstIndex(of: o.apiName) ?? order.count, o.apiName) }
        for object in metadata.objects.values.sorted(by: { rank($0) < rank($1) }) {
            var config = Blueprint.ObjectConfig(name: object.apiName, fields: [], layouts: [])
            for f in object.fields.sorted(by: { $0.position < $1.position }) where !f.isSystem {
                var field = Blueprint.Field(apiName: f.apiName, label: f.label, required: f.required, options: FieldOptions())
                if f.type == .picklist || f.type == .multiPicklist { field.values = f.options.orderedValues.map {
                    PicklistValue(value: $0.value, label: $0.label, active: $0.active)
                } }
                if f.isCustom {
                    field.type = f.type.rawValue
                    field.unique = f.unique
                    field.filterable = f.filterable
                    field.searchable = f.searchable
                    field.defaultValue = f.defaultValue
                    field.options = f.options
                    field.options.values = nil
                }
                config.fields.append(field)
            }
            config.layouts = (layouts[object.apiName] ?? []).sorted { ($0.0 ?? "") < ($1.0 ?? "") }.map {
                Blueprint.Layout(role: $0.0, sections: $0.1)
            }
            bp.objects.append(config)
        }
        for module in services.registry.modules where metadata.enabledModules.contains(module.id) && !module.settings.isEmpty {
            var section = Blueprint.SettingsSection(module: module.id, values: [])
            for setting in module.settings { section.values.append(.init(name: setting.name, value: try await setting.loadJSON(in: tx))) }
            bp.settings.append(section)
        }
        let run = BlueprintRun(services: services, tx: tx, tenant: tenant, file: "", prune: false, actor: nil, permissions: nil)
        for (module, section) in BlueprintSections.all(services.registry) where module.map { metadata.enabledModules.contains($0) } ?? true {
            let exported = try await section.export(in: run)
            if !exported.isEmpty { bp.sections[section.key] = exported }
        }
        return bp
    }
}
