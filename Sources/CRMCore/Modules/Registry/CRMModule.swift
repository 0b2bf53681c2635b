import Foundation

/// One CRM module, declared in one place: what it is, what it needs, and everything it brings
/// into a tenant. The registry (`ModuleRegistry`) is the one list of modules; adding a module is
/// one new folder under `Modules/` and one line there (see docs/modules.md, "Adding a module").
///
/// Only `id`, `name` and `migrations` have no default.
public protocol CRMModule: Sendable {
    var id: String { get }
    var name: String { get }
    /// Modules that must be enabled first (and may not be disabled while this one is on).
    var requires: [String] { get }
    /// On in every tenant, whatever its plan; cannot be disabled.
    var alwaysOn: Bool { get }
    /// Its tables, functions and metadata rows, applied in a tenant when first enabled there.
    var migrations: MigrationScope { get }
    /// Its standard objects, declared as values: the source of truth its migrations agree with
    /// (a test checks), and what `StandardObjectSQL` writes a first migration from.
    var objects: [StandardObject] { get }
    /// Columns and indexes it adds to other modules' objects.
    var objectExtensions: [ObjectExtension] { get }
    /// Objects whose records have owners, and the table of each (ownership transfers).
    var ownedTables: [String: String] { get }
    /// Its typed settings: API, blueprint section `settings.<id>` and export come from these.
    var settings: [any ModuleSetting] { get }
    /// Its background jobs, and the schedules enabling it creates per tenant.
    var jobs: [ModuleJob] { get }
    /// Its say in record writes (of its own objects or others').
    func hooks(_ context: ModuleContext) -> [any RecordHook]
    /// CHECK constraints of its tables → the field error a client sees.
    var constraintErrors: [ConstraintError] { get }
    /// What it adds to the customer 360° view.
    var customerPanels: [CustomerPanel] { get }
    /// Its calls beyond the records API, under `/api/v1`; they answer `module-disabled` while
    /// the module is off in the caller's tenant.
    var routes: [ModuleRoute] { get }
    /// What it does with committed record change events (the workflow engine), while it is on.
    var eventConsumers: [any ChangeEventConsumer] { get }
    /// Its named business events (`lead.converted`): record changes it makes through a door of
    /// its own, which workflow rules can be started by.
    var events: [ModuleEvent] { get }
    /// Its parts of a tenant blueprint (`workflow.rules`): read, checked, converged, exported.
    var blueprintSections: [any BlueprintSection] { get }
    /// Its own rows that the approvals engine approves on a built-in process (leads'
    /// registrations): not records of an object, so the records API never sees them.
    var approvalSubjects: [ApprovalSubject] { get }
    /// Followers of the approval requests on its objects' records (told how each ended).
    var approvalFollowers: [ApprovalFollower] { get }
}

extension CRMModule {
    public var requires: [String] { [] }
    public var alwaysOn: Bool { false }
    public var objects: [StandardObject] { [] }
    public var objectExtensions: [ObjectExtension] { [] }
    /// The api names of its standard objects.
    public var objectNames: [String] { objects.map(\.apiName) }
    public var ownedTables: [String: String] { [:] }
    public var settings: [any ModuleSetting] { [] }
    public var jobs: [ModuleJob] { [] }
    public func hooks(_ context: ModuleContext) -> [any RecordHook] { [] }
    public var constraintErrors: [ConstraintError] { [] }
    public var customerPanels: [CustomerPanel] { [] }
    public var routes: [ModuleRoute] { [] }
    public var eventConsumers: [any ChangeEventConsumer] { [] }
    public var events: [ModuleEvent] { [] }
    public var blueprintSections: [any BlueprintSection] { [] }
    public var approvalSubjects: [ApprovalSubject] { [] }
    public var approvalFollowers: [ApprovalFollower] { [] }
}

/// A module's business event: the change events of `object` that came through `origin` (the
/// path that wrote, as history and change events name it).
public struct ModuleEvent: Sendable, Equatable {
    public let name: String
    public let object: String
    public let origin: String
    public let description: String

    public init(name: String, object: String, origin: String, description: String) {
        self.name = name
        self.object = object
        self.origin = origin
        self.description = description
    }
}

/// What a module's hooks may be built with.
public struct ModuleContext: Sendable {
    public let clock: any WallClock
    public init(clock: any WallClock) { self.clock = clock }
}

/// A CHECK constraint of a module's table, as the field error a client sees (400).
public struct ConstraintError: Sendable {
    public let constraint: String
    public let field: String
    public let code: String
    public let message: String

    public init(constraint: String, field: String, code: String, message: String) {
        self.constraint = constraint
        self.field = field
        self.code = code
        self.message = message
    }
}

/// A related list a module adds to the customer 360° view: records of `object` whose `column`
/// points at the customer, as the caller may read them, with a total.
public struct CustomerPanel: Sendable {
    public let key: String
    public let object: String
    public let column: String
    /// The list's order: a field's api name, `-` first for descending.
    public let sort: String
    public let limit: Int
    /// Only records whose `filterField` is one of `filterValues` (open tasks), when set.
    public let filterField: String?
    public let filterValues: [String]

    public init(key: String, object: String, column: String, sort: String, limit: Int, filterField: String? = nil,
                filterValues: [String] = []) {
        self.key = key
        self.object = object
        self.column = column
        self.sort = sort
        self.limit = limit
        self.filterField = filterField
        self.filterValues = filterValues
    }
}
