import Foundation
import PostgresNIO

/// A part of a tenant blueprint that the core or a module brings (`webhooks.endpoints`,
/// `approvals.processes`, `workflow.rules`): a top-level key holding named lists of entries.
/// The Blueprint files read, check, converge and write it without knowing whose it is; a
/// module declares its sections through `CRMModule.blueprintSections`.
public protocol BlueprintSection: Sendable {
    /// The top-level key in the file.
    var key: String { get }
    /// The lists under it (`rules`), each a list of mappings.
    var lists: [String] { get }
    /// What needs no database: names unique, keys present, references among the file's users,
    /// departments and roles. Each problem at its entry's position.
    func check(_ section: Blueprint.Section, in bp: Blueprint) -> [(Blueprint.Position, String)]
    /// Makes the tenant match the section, inside the apply's transaction, through the same
    /// services as the admin API. An absent section arrives empty (prune then removes).
    func converge(_ section: Blueprint.Section, in run: BlueprintRun) async throws
    /// The tenant's entries, in a fixed order, referring to other things by their blueprint keys.
    func export(in run: BlueprintRun) async throws -> Blueprint.Section
}

extension Blueprint {
    /// One entry of a section's list: its mapping as JSON, and where each member stood.
    public struct Entry: Sendable {
        public var value: [String: JSONValue]
        public var at: Position = .none
        /// Positions of members by path (`actions.0.values`), for problems inside the entry.
        public var positions: [String: Position] = [:]

        public init(_ value: [String: JSONValue], at: Position = .none, positions: [String: Position] = [:]) {
            self.value = value
            self.at = at
            self.positions = positions
        }

        /// Where the member at `path` (or its nearest enclosing member) stood.
        public func at(_ path: String) -> Position {
            var parts = path.split(separator: ".").map(String.init)
            while !parts.isEmpty {
                if let p = positions[parts.joined(separator: ".")] { return p }
                parts.removeLast()
            }
            return at
        }

        /// The entry's `name` (or another key member), for messages.
        public func text(_ key: String) -> String? { value[key]?.stringValue }
    }

    /// A section as the file has it: list name → entries.
    public struct Section: Sendable {
        public var key: String
        public var lists: [String: [Entry]]
        public var at: Position = .none

        public init(key: String, lists: [String: [Entry]] = [:], at: Position = .none) {
            self.key = key
            self.lists = lists
            self.at = at
        }

        public subscript(_ list: String) -> [Entry] { lists[list] ?? [] }
        public var isEmpty: Bool { lists.values.allSatisfy(\.isEmpty) }
    }
}

/// Every blueprint section the server knows, in converge order: the core's first (webhook
/// endpoints), then each module's in registry order, so that a rule can name a process or an
/// endpoint that the same apply makes.
public enum BlueprintSections {
    /// `module` is nil for a core section (always on).
    public static func all(_ registry: ModuleRegistry = .standard) -> [(module: String?, section: any BlueprintSection)] {
        var out: [(module: String?, section: any BlueprintSection)] = [(nil, WebhookEndpointsSection())]
        for module in registry.modules {
            for section in module.blueprintSections { out.append((module.id, section)) }
        }
        return out
    }
}

/// What a section's converge and export work with: the tenant, its transaction, the acting
/// admin, the blueprint keys of users, departments and roles, and what the apply reports.
public final class BlueprintRun: @unchecked Sendable {
    let services: AppServices
    let tx: Transaction
    let tenant: Tenant
    let file: String
    let prune: Bool
    /// The acting admin (nil in an export, which writes nothing).
    let actor: Principal!
    let permissions: EffectivePermissions!
    var meta: RequestMeta { BlueprintApplier.meta }

    var changes: [String] = []
    var notInFile: [String] = []
    /// Secrets made by this apply (webhook endpoints'), printed once, never written to a file.
    var secrets: [(what: String, secret: String)] = []
    /// Job schedules to make after the commit (kind, cron).
    var schedules: [(kind: String, cron: String)] = []
    /// Ids by blueprint key, per kind (`webhook_endpoint`, `approval_process`), registered by the
    /// section that owns them for the sections after it.
    var keys: [String: [String: UUID]] = [:]

    private var users: [AdminUser]?
    private var departments: [Department]?
    private var roles: [Role]?

    init(services: AppServices, tx: Transaction, tenant: Tenant, file: String, prune: Bool, actor: Principal?, permissions: EffectivePermissions?) {
        self.services = services
        self.tx = tx
        self.tenant = tenant
        self.file = file
        self.prune = prune
        self.actor = actor
        self.permissions = permissions
    }

    /// The acting admin as the records and module services take a caller, with current metadata.
    func caller() async throws -> RecordCaller {
        RecordCaller(principal: actor, permissions: permissions, metadata: try await TenantMetadata.load(version: 0, in: tx), meta: meta)
    }

    // MARK: keys

    func userId(email: String) async throws -> UUID? {
        if users == nil { users = try await services.userAdmin.list(in: tx) }
        return users!.first { $0.email.lowercased() == email.lowercased() && $0.isActive }?.id
    }

    /// An active user's email; export refuses a reference the file could not carry.
    func email(_ id: UUID, for what: String) async throws -> String {
        if users == nil { users = try await services.userAdmin.list(in: tx) }
        guard let u = users!.first(where: { $0.id == id && $0.isActive }) else {
            throw CRMError.conflict("\(what) names user \(id.uuidString.lowercased()), who is not an active user; change it before exporting a blueprint.")
        }
        return u.email
    }

    func departmentId(name: String) async throws -> UUID? {
        if departments == nil { departments = try await services.departments.list(in: tx) }
        return departments!.first { $0.name == name }?.id
    }

    func departmentName(_ id: UUID, for what: String) async throws -> String {
        if departments == nil { departments = try await services.departments.list(in: tx) }
        guard let d = departments!.first(where: { $0.id == id }) else {
            throw CRMError.conflict("\(what) names department \(id.uuidString.lowercased()), which no longer exists; change it before exporting a blueprint.")
        }
        return d.name
    }

    /// A role by its name, or a built-in role by its key.
    func roleId(name: String) async throws -> UUID? {
        if roles == nil { roles = try await services.roles.list(in: tx) }
        return roles!.first { $0.builtin == name || ($0.builtin == nil && $0.name == name) }?.id
    }

    func roleName(_ id: UUID, for what: String) async throws -> String {
        if roles == nil { roles = try await services.roles.list(in: tx) }
        guard let r = roles!.first(where: { $0.id == id }) else {
            throw CRMError.conflict("\(what) names role \(id.uuidString.lowercased()), which no longer exists; change it before exporting a blueprint.")
        }
        return r.builtin ?? r.name
    }

    /// The key of `id` among the ids registered for `kind`.
    func key(of id: UUID, kind: String, for what: String) throws -> String {
        guard let key = keys[kind]?.first(where: { $0.value == id })?.key else {
            throw CRMError.conflict("\(what) names a \(kind.replacingOccurrences(of: "_", with: " ")) (\(id.uuidString.lowercased())) that a blueprint cannot name; change it before exporting a blueprint.")
        }
        return key
    }

    // MARK: problems

    /// A problem at the member `path` of an entry, naming the entry as `list[i] 'name'`.
    func problem(_ entry: Blueprint.Entry, _ label: String, path: String? = nil, _ message: String) -> BlueprintProblems {
        BlueprintProblems([BlueprintProblem(file: file, at: path.map { entry.at($0) } ?? entry.at,
                                            "\(label)\(path.map { ": \($0)" } ?? ""): \(message)")])
    }

    /// Runs a service call for an entry; its refusal becomes a problem at the first bad member's
    /// position, naming the entry and every bad member by path.
    func at<T>(_ entry: Blueprint.Entry, _ label: String, rename: [String: String] = [:], _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CRMError {
            let fields = error.fieldErrors.map { fe -> (String, String) in (Self.rename(fe.field, rename), fe.message) }
            let at = fields.first.map { entry.at($0.0) } ?? entry.at
            let text = fields.isEmpty ? error.detail : fields.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
            throw BlueprintProblems([BlueprintProblem(file: file, at: at, "\(label): \(text)")])
        }
    }

    /// A service's member path in the file's words (`steps.0.approvers.user_ids.1` → `…users.1`).
    static func rename(_ path: String, _ names: [String: String]) -> String {
        path.split(separator: ".").map { names[String($0)] ?? String($0) }.joined(separator: ".")
    }
}

extension Blueprint.Entry {
    /// `list[i] 'name'`: how problems name an entry.
    static func label(_ key: String, _ list: String, _ i: Int, _ name: String?) -> String {
        "\(key).\(list)[\(i)]" + (name.map { " '\($0)'" } ?? "")
    }
}

/// What a section's static check may name: the file's users (by email), departments and roles.
struct BlueprintReferences {
    let emails: Set<String>
    let departments: Set<String>
    let roles: Set<String>

    init(_ bp: Blueprint) {
        emails = Set(bp.users.map { $0.email.lowercased() })
        departments = Set(bp.departments.map(\.name))
        roles = Set(bp.roles.map(\.name) + Blueprint.builtinRoleKeys)
    }

    func unknownKeys(_ e: Blueprint.Entry, _ label: String, _ known: Set<String>) -> [(Blueprint.Position, String)] {
        e.value.keys.sorted().filter { !known.contains($0) }.map {
            (e.at($0), "\(label): unknown key '\($0.prefix(40))'; known keys: \(known.sorted().joined(separator: ", ")).")
        }
    }

    func user(_ value: JSONValue, _ e: Blueprint.Entry, _ label: String, _ path: String) -> [(Blueprint.Position, String)] {
        guard let email = value.stringValue, emails.contains(email.lowercased()) else {
            return [(e.at(path), "\(label): \(path): '\((value.stringValue ?? "").prefix(80))' is not among users.")]
        }
        return []
    }

    func department(_ value: JSONValue, _ e: Blueprint.Entry, _ label: String, _ path: String) -> [(Blueprint.Position, String)] {
        guard let name = value.stringValue, departments.contains(name) else {
            return [(e.at(path), "\(label): \(path): no department '\((value.stringValue ?? "").prefix(80))' among departments.")]
        }
        return []
    }

    func role(_ value: JSONValue, _ e: Blueprint.Entry, _ label: String, _ path: String) -> [(Blueprint.Position, String)] {
        guard let name = value.stringValue, roles.contains(name) else {
            return [(e.at(path), "\(label): \(path): no role '\((value.stringValue ?? "").prefix(80))' (roles of this file, or \(Blueprint.builtinRoleKeys.joined(separator: ", "))).")]
        }
        return []
    }

    /// A definition's members as a file shows them: null or empty lists left out (reading it
    /// back gives the same definition). One level only: inside, a null may mean "clear it".
    static func clean(_ value: [String: JSONValue]) -> [String: JSONValue] {
        value.filter { _, v in
            if case .null = v { return false }
            if case .array(let a) = v, a.isEmpty { return false }
            return true
        }
    }
}

extension JSONValue {
    var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    var numberValue: Decimal? { if case .number(let n) = self { return n } else { return nil } }
}
