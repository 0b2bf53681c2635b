import Foundation

/// Who is working with records, and what they see: the one place the records engine asks
/// about permissions and field access.
public struct RecordCaller: Sendable {
    public let principal: Principal
    public let permissions: EffectivePermissions
    public let metadata: TenantMetadata
    public var meta: RequestMeta

    public init(principal: Principal, permissions: EffectivePermissions, metadata: TenantMetadata, meta: RequestMeta) {
        self.principal = principal
        self.permissions = permissions
        self.metadata = metadata
        self.meta = meta
    }

    public var userId: UUID { principal.user.id }

    /// The tenant's time zone: what "today" is for dates a write derives (an exchange rate's day).
    public var zone: TimeZone = .gmt

    /// Set when a workflow rule writes as this caller: its writes carry the rule and depth.
    public var cause: (depth: Int, ruleId: UUID?) = (0, nil)

    /// Who writes, as history and change events name them.
    public func actor(_ origin: String) -> RecordActor {
        RecordActor(userId: userId, requestId: meta.requestId, origin: origin, depth: cause.depth, ruleId: cause.ruleId)
    }

    /// The object, when the caller may read it; otherwise it does not exist for them (404).
    public func readable(_ apiName: String) throws -> ObjectDefinition {
        let object = try metadata.object(apiName)
        guard permissions.may(.read, on: apiName) else {
            throw CRMError.notFound("No object '\(apiName.prefix(40))'.")
        }
        return object
    }

    public func access(_ field: FieldDefinition) -> FieldAccess {
        field.isSystem && FieldDefinition.systemNames.contains(field.apiName) ? .readOnly : permissions.fieldAccess(field.object, field.apiName)
    }

    public func isVisible(_ field: FieldDefinition) -> Bool { access(field) != .hidden }

    /// The fields of `object` the caller sees, system fields first.
    public func visibleFields(_ object: ObjectDefinition) -> [FieldDefinition] { object.fields.filter(isVisible) }

    /// The records `action` reaches, as a condition on the row aliased `t`.
    func scope(_ action: Action, on object: ObjectDefinition, into q: inout QueryBuilder) throws {
        try q.appendCondition(permissions.filter(action, on: object.apiName), ownerColumn: try SQLIdentifier("owner_id"), alias: "t")
    }
}
