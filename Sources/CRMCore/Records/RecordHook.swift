import Foundation
import PostgresNIO

/// A module's say in the writes of one object. Every create and update of the object runs
/// `beforeSave` after the body was checked against metadata and field access and before the row
/// is written, and `afterSave` once the row, its history and its change event are written, in
/// the same transaction (a throw rolls everything back).
public protocol RecordHook: Sendable {
    /// The object whose writes it sees; `RecordHooks.anyObject` (`*`) for every object its
    /// `applies(to:metadata:)` accepts.
    var object: String { get }
    /// For a hook on any object: whether it sees writes of `object`, decided from the tenant's
    /// metadata alone (no query), so objects it does not apply to pay nothing on their writes.
    func applies(to object: String, metadata: TenantMetadata) -> Bool
    /// What the hook adds to the object's API: the query parameters it reads on POST and PATCH,
    /// values it refuses, shorter limits, members it adds to the answer (the tenant's OpenAPI
    /// document states them).
    var contract: WriteContract { get }
    /// May refuse the write (throw a `CRMError`) or add annotations to the answer (warnings).
    func beforeSave(_ write: RecordWrite, in tx: Transaction) async throws -> [String: JSONValue]
    func afterSave(_ saved: RecordSaved, in tx: Transaction) async throws
    /// `afterSave` for the many records one set-based write changed (`SystemWrite`: a restage, a
    /// pool reclaim). By default one `afterSave` each; a hook that queries per record does it
    /// once for all of them here, so a bulk write costs a few round trips, not a few per record.
    func afterSave(batch: [RecordSaved], in tx: Transaction) async throws
    /// Values of the object's system fields the write sets too, computed from it (an
    /// opportunity's base amount from its amount and rate, its probability from its stage): run
    /// after every hook's `beforeSave`, written in the same statement as the sent fields and
    /// tracked in history and the change event like them.
    func derive(_ write: RecordWrite, in tx: Transaction) async throws -> [String: BoundValue]
    /// May refuse a delete (moving the record to the recycle bin) by throwing; runs after the
    /// record was found, locked and the caller's reach checked.
    func beforeDelete(_ delete: RecordDelete, in tx: Transaction) async throws
}

extension RecordHook {
    public var contract: WriteContract { WriteContract() }
    public func beforeSave(_ write: RecordWrite, in tx: Transaction) async throws -> [String: JSONValue] { [:] }
    public func afterSave(_ saved: RecordSaved, in tx: Transaction) async throws {}
    public func afterSave(batch: [RecordSaved], in tx: Transaction) async throws {
        for saved in batch { try await afterSave(saved, in: tx) }
    }
    public func derive(_ write: RecordWrite, in tx: Transaction) async throws -> [String: BoundValue] { [:] }
    public func applies(to object: String, metadata: TenantMetadata) -> Bool { true }
    public func beforeDelete(_ delete: RecordDelete, in tx: Transaction) async throws {}
}

/// A delete about to be made, as a hook sees it.
public struct RecordDelete: Sendable {
    public let object: ObjectDefinition
    public let id: UUID
    public let caller: RecordCaller
}

/// A boolean query parameter a hook reads on writes (`?allow_duplicates=true`).
public struct WriteParameter: Sendable {
    public let name: String
    public let description: String
    public init(name: String, description: String) {
        self.name = name
        self.description = description
    }
}

/// What a hook adds to its object's API contract.
public struct WriteContract: Sendable {
    public var parameters: [WriteParameter]
    /// Picklist values the records API refuses to set (another call sets them), by field.
    public var refusedValues: [String: Set<String>]
    /// Limits shorter than the field's own, on the value as sent, by field.
    public var maxLengths: [String: Int]
    /// Members the answer may carry beside the fields: name → (description, the members of each
    /// item of the list it holds).
    public var annotations: [String: (description: String, itemMembers: [String])]

    public init(parameters: [WriteParameter] = [], refusedValues: [String: Set<String>] = [:], maxLengths: [String: Int] = [:],
                annotations: [String: (description: String, itemMembers: [String])] = [:]) {
        self.parameters = parameters
        self.refusedValues = refusedValues
        self.maxLengths = maxLengths
        self.annotations = annotations
    }
}

/// A write about to be stored, as a before-save hook sees it.
public struct RecordWrite: Sendable {
    public let object: ObjectDefinition
    public let event: RecordEvent
    public let id: UUID
    /// The checked values the write sets, by api name (as they will be stored: trimmed, parsed).
    public let values: [String: (FieldDefinition, BoundValue)]
    /// The body as the client sent it (before trimming and parsing).
    public let sent: [String: JSONValue]
    /// The tracked fields as stored before an update (empty for a create).
    public let before: [String: JSONValue]
    public let caller: RecordCaller
    public let actor: RecordActor
    /// The write's query parameters that hooks declared (`name` → value as sent).
    public let options: [String: String]

    /// The text a field will hold after the write: the value written, else the stored one.
    public func text(_ key: String) -> String? {
        if let (_, value) = values[key] {
            if case .text(let s) = value { return s }
            return nil
        }
        return before[key]?.stringValue
    }

    /// The text the write sets for `key` (nil when it does not set it, or sets null).
    public func written(_ key: String) -> String? {
        if case .text(let s)? = values[key]?.1 { return s }
        return nil
    }

    /// Whether the write gives `key` a value other than the stored one.
    public func changes(_ key: String) -> Bool {
        guard values[key] != nil else { return false }
        return written(key) != before[key]?.stringValue
    }

    public func flag(_ name: String) -> Bool { options[name] == "true" }
}

/// A write that was stored, as an after-save hook sees it.
public struct RecordSaved: Sendable {
    /// The object's api name.
    public let object: String
    public let event: RecordEvent
    public let id: UUID
    public let version: Int64
    public let actor: RecordActor
    /// The tracked fields whose value changed, with the value before and after (JSON null for none).
    public let changes: [String: Change]

    public struct Change: Sendable {
        public let old: JSONValue
        public let new: JSONValue
    }

    /// The api names of the fields whose value changed.
    public var changed: Set<String> { Set(changes.keys) }
}

/// The hooks of the modules, by object, and those on any object.
public struct RecordHooks: Sendable {
    let byObject: [String: [any RecordHook]]
    /// Hooks on every object their `applies(to:metadata:)` accepts.
    let onAnyObject: [any RecordHook]

    /// The `object` of a hook that sees writes of any object.
    public static let anyObject = "*"

    public init(_ hooks: [any RecordHook]) {
        self.byObject = Dictionary(grouping: hooks.filter { $0.object != Self.anyObject }, by: \.object)
        self.onAnyObject = hooks.filter { $0.object == Self.anyObject }
    }

    public static let none = RecordHooks([])

    /// The hooks declared for `object` by name (not those on any object).
    public func hooks(for object: String) -> [any RecordHook] { byObject[object] ?? [] }

    /// Every hook a write of `object` runs: its own, then those on any object that apply to it
    /// in this tenant (decided from metadata already loaded: no query).
    public func hooks(for object: String, metadata: TenantMetadata) -> [any RecordHook] {
        let own = byObject[object] ?? []
        guard !onAnyObject.isEmpty else { return own }
        return own + onAnyObject.filter { $0.applies(to: object, metadata: metadata) }
    }

    /// Every write parameter declared for `object`.
    public func writeParameters(for object: String) -> [WriteParameter] { hooks(for: object).flatMap(\.contract.parameters) }

    /// The contracts of `object`'s hooks, merged.
    public func contract(for object: String) -> WriteContract {
        var out = WriteContract()
        for hook in hooks(for: object) {
            let c = hook.contract
            out.parameters += c.parameters
            out.refusedValues.merge(c.refusedValues) { $0.union($1) }
            out.maxLengths.merge(c.maxLengths) { min($0, $1) }
            out.annotations.merge(c.annotations) { a, _ in a }
        }
        return out
    }
}
