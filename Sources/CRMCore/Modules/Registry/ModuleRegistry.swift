/// Every module the server knows, in dependency order. The one place a module is registered:
/// its migrations, objects, settings, jobs, hooks, routes, error mappings and 360° panels all
/// come from here.
public struct ModuleRegistry: Sendable {
    public let modules: [any CRMModule]

    public init(_ modules: [any CRMModule]) {
        var seen = Set<String>()
        for module in modules {
            precondition(module.requires.allSatisfy(seen.contains), "\(module.id) is listed before what it requires")
            seen.insert(module.id)
        }
        self.modules = modules
    }

    /// The modules of this server. Adding a module: one folder under `Modules/`, one line here.
    public static let standard = ModuleRegistry([
        CustomersModule(),
        ApprovalsModule(),
        LeadsModule(),
        ActivitiesModule(),
        WorkflowModule(),
        SalesModule(),
    ])

    /// This registry and `more` after it (a test's own module).
    public func adding(_ more: [any CRMModule]) -> ModuleRegistry { ModuleRegistry(modules + more) }

    public func module(_ id: String) -> (any CRMModule)? { modules.first { $0.id == id } }

    /// Every module's record hooks.
    public func hooks(_ context: ModuleContext) -> RecordHooks { RecordHooks(modules.flatMap { $0.hooks(context) }) }

    /// Every module's consumers of record change events, in registry order.
    public var eventConsumers: [any ChangeEventConsumer] { modules.flatMap(\.eventConsumers) }

    /// Every module's standard objects, in registry order.
    public var standardObjects: [StandardObject] { modules.flatMap(\.objects) }

    /// The table of each standard object (what lookups reference).
    public var objectTables: [String: String] {
        Dictionary(standardObjects.map { ($0.apiName, $0.table) }) { a, _ in a }
    }

    /// The SQL of a first migration for the standard object `name` (`crm dev object-sql`).
    public func objectSQL(_ name: String) throws -> String {
        guard let object = standardObjects.first(where: { $0.apiName == name }) else {
            throw CRMError.notFound("No standard object '\(name.prefix(40))'.")
        }
        return try StandardObjectSQL.migration(object, tables: objectTables)
    }

    /// Every owned object's table.
    public var ownedTables: [String: String] { modules.reduce(into: [:]) { $0.merge($1.ownedTables) { a, _ in a } } }

    /// CHECK constraints of module tables by name.
    public var constraintErrors: [String: ConstraintError] {
        Dictionary(modules.flatMap(\.constraintErrors).map { ($0.constraint, $0) }) { a, _ in a }
    }

    /// The 360° view's panels, in registry order.
    public var customerPanels: [CustomerPanel] { modules.flatMap(\.customerPanels) }

    /// The scopes every tenant gets at provisioning: core, then the always-on modules.
    public var provisionedScopes: [MigrationScope] { [TenantMigrations.core] + modules.filter(\.alwaysOn).map(\.migrations) }

    /// Every tenant scope; a module's scope runs in a tenant once the module was first enabled there.
    public var allScopes: [MigrationScope] { [TenantMigrations.core] + modules.map(\.migrations) }

    /// Ids of the scopes every tenant must have.
    public var requiredScopeIds: Set<String> { Set(provisionedScopes.map(\.id)) }

    /// The modules that need `id`, directly or through another.
    public func dependents(of id: String) -> [any CRMModule] {
        modules.filter { module in
            var stack = module.requires, seen = Set<String>()
            while let next = stack.popLast() {
                if next == id { return true }
                if seen.insert(next).inserted { stack += self.module(next)?.requires ?? [] }
            }
            return false
        }
    }
}
