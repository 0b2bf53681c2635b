import Foundation
import PostgresNIO

/// A module's own rows that the engine approves without their being records of an object
/// (leads' registrations, 报备). The module keeps its table and its API; the engine gives the
/// rows its requests, tasks, inbox, history, delegation, time-outs and handovers. A subject is
/// not in the tenant's metadata, so the records API, field admin and the write guard never see
/// it, and only its module's built-in process (`builtin`) approves it: the module submits a row
/// when it makes it, and hears in `finished` how the request ended, in the same transaction.
public struct ApprovalSubject: Sendable {
    /// `object` of its processes and requests.
    public let object: String
    /// `approval_processes.builtin` of the process its module's migration makes.
    public let builtin: String
    public let module: String
    public let label: String
    public let pluralLabel: String
    /// What conditions of a process may name (beside the system fields), read by `values`.
    public let fields: [FieldDefinition]
    /// A row's values by field name (nil: no such row), its row locked when asked.
    public let values: @Sendable (_ id: UUID, _ lock: Bool, _ tx: Transaction) async throws -> [String: JSONValue]?
    /// Whom the row is for (approvers "of the owner").
    public let owner: @Sendable (_ id: UUID, _ tx: Transaction) async throws -> UUID?
    /// A request on a row ended: `approved`, `rejected`, `recalled` or `cancelled`.
    public let finished: @Sendable (_ end: End, _ tx: Transaction) async throws -> Void

    public struct End: Sendable {
        public let request: UUID
        public let record: UUID
        public let status: String
        /// Who ended it (nil: the system, as a time-out).
        public let by: UUID?
        public let at: Date
    }

    public init(object: String, builtin: String, module: String, label: String, pluralLabel: String, fields: [FieldDefinition],
                values: @escaping @Sendable (UUID, Bool, Transaction) async throws -> [String: JSONValue]?,
                owner: @escaping @Sendable (UUID, Transaction) async throws -> UUID?,
                finished: @escaping @Sendable (End, Transaction) async throws -> Void) {
        self.object = object
        self.builtin = builtin
        self.module = module
        self.label = label
        self.pluralLabel = pluralLabel
        self.fields = fields
        self.values = values
        self.owner = owner
        self.finished = finished
    }

    /// The subjects every module declares, by object name.
    static let all: [String: ApprovalSubject] = Dictionary(
        ModuleRegistry.standard.modules.flatMap(\.approvalSubjects).map { ($0.object, $0) }, uniquingKeysWith: { a, _ in a })

    static func named(_ object: String) -> ApprovalSubject? { all[object] }

    /// The subject as the engine's process definitions see an object; `module-disabled` while
    /// its module is off (its requests wait, as records of a disabled object do).
    func definition(_ metadata: TenantMetadata) throws -> ObjectDefinition {
        guard metadata.enabledModules.contains(module) else {
            throw CRMError(.moduleDisabled, "The \(module) module is disabled for this tenant; an admin can enable it again.")
        }
        return ObjectDefinition(apiName: object, label: label, pluralLabel: pluralLabel, table: try SQLIdentifier(object), module: module,
                                position: 0, fields: fields, deletedFields: [])
    }

    /// A text field of a subject, for its `fields`.
    public static func textField(_ object: String, _ name: String, _ label: String, position: Int) -> FieldDefinition {
        FieldDefinition(object: object, apiName: name, label: label, type: .text, column: try! SQLIdentifier(name), isCustom: false,
                        isSystem: false, required: false, unique: false, filterable: true, searchable: false, defaultValue: nil,
                        options: FieldOptions(), position: position)
    }
}

/// A module's follower of the requests on records of one of its objects: told in the same
/// transaction how each ended (a quote's status follows its discount approval), as a subject's
/// module is. The records stay records: guarded, locked and voided as any.
public struct ApprovalFollower: Sendable {
    public let object: String
    public let finished: @Sendable (_ end: ApprovalSubject.End, _ tx: Transaction) async throws -> Void

    public init(object: String, finished: @escaping @Sendable (ApprovalSubject.End, Transaction) async throws -> Void) {
        self.object = object
        self.finished = finished
    }

    /// The followers every module declares, by object name.
    static let all: [String: ApprovalFollower] = Dictionary(
        ModuleRegistry.standard.modules.flatMap(\.approvalFollowers).map { ($0.object, $0) }, uniquingKeysWith: { a, _ in a })
}

extension ApprovalEngine {
    /// The object a process or request names: one of the tenant's, or a module's subject.
    static func object(_ name: String, metadata: TenantMetadata) throws -> ObjectDefinition {
        if let subject = ApprovalSubject.named(name) { return try subject.definition(metadata) }
        return try metadata.object(name)
    }
}
