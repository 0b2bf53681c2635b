/// One CRM module: what it is called, what it needs, the tables it brings into a tenant's
/// schema and the objects those tables hold. Routes live in the HTTP layer and are guarded by
/// the module's id; background jobs register with the job runner under the module's prefix.
public struct CRMModule: Sendable {
    public let id: String
    public let name: String
    /// Modules that must be enabled first (and may not be disabled while this one is on).
    public let requires: [String]
    /// On in every tenant, whatever its plan; cannot be disabled.
    public let alwaysOn: Bool
    public let migrations: MigrationScope
    /// The objects whose metadata rows name this module.
    public let objects: [String]

    public init(id: String, name: String, requires: [String] = [], alwaysOn: Bool = false, migrations: MigrationScope,
                objects: [String]) {
        precondition(migrations.id == id, "a module's migration scope carries its id")
        self.id = id
        self.name = name
        self.requires = requires
        self.alwaysOn = alwaysOn
        self.migrations = migrations
        self.objects = objects
    }
}
