/// Every module the server knows, in dependency order. The one place a module is registered:
/// its migrations, objects and dependencies come from here; its routes check `id` against the
/// tenant's enabled set.
public struct ModuleRegistry: Sendable {
    public let modules: [CRMModule]

    public init(_ modules: [CRMModule]) {
        var seen = Set<String>()
        for module in modules {
            precondition(module.requires.allSatisfy(seen.contains), "\(module.id) is listed before what it requires")
            seen.insert(module.id)
        }
        self.modules = modules
    }

    public static let standard = ModuleRegistry([CustomersModule.module, LeadsModule.module, ActivitiesModule.module])

    public func module(_ id: String) -> CRMModule? { modules.first { $0.id == id } }

    /// The scopes every tenant gets at provisioning: core, then the always-on modules.
    public var provisionedScopes: [MigrationScope] { [TenantMigrations.core] + modules.filter(\.alwaysOn).map(\.migrations) }

    /// Every tenant scope; a module's scope runs in a tenant once the module was first enabled there.
    public var allScopes: [MigrationScope] { [TenantMigrations.core] + modules.map(\.migrations) }

    /// Ids of the scopes every tenant must have.
    public var requiredScopeIds: Set<String> { Set(provisionedScopes.map(\.id)) }

    /// The modules that need `id`, directly or through another.
    public func dependents(of id: String) -> [CRMModule] {
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
