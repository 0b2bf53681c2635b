import CRMCore
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// Everything one request carries past the middleware: who is asking, for which tenant, and
/// the tenant transaction the handler works in.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer of the connection; X-Forwarded-For is used instead only when configured.
    public let peerAddress: String?
    public var requestId = ""
    public var clientAddress = "unknown"
    public var tenant: Tenant?
    public var principal: Principal?
    /// The caller's effective permissions, from the one evaluation point.
    public var permissions: EffectivePermissions?
    /// The tenant transaction opened by the auth middleware for this request.
    public var tx: Transaction?
    public var operatorPrincipal: OperatorPrincipal?
    /// The JSON object body, parsed once before the tenant transaction began (`TenantAuthMiddleware`).
    public var jsonObject: [String: JSONValue]?
    /// Filled in by inner middleware for the outer request log line (the context is a value).
    public let logInfo = RequestLogInfo()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }

    public var meta: RequestMeta { RequestMeta(requestId: requestId, clientAddress: clientAddress) }

    /// The tenant resolved by `TenantMiddleware`.
    public func requireTenant() throws -> Tenant {
        guard let tenant else { throw CRMError(.tenantNotFound, "No tenant named.") }
        return tenant
    }

    /// The authenticated user and the open transaction, set by `TenantAuthMiddleware`.
    public func session() throws -> (Principal, Transaction) {
        guard let principal, let tx else { throw CRMError.unauthorized }
        return (principal, tx)
    }

    /// The caller's permissions when they hold `capability`; else 403.
    public func require(_ capability: Capability) throws -> EffectivePermissions {
        guard let permissions else { throw CRMError.unauthorized }
        // During a rolling migration a tenant may not have the org tables yet.
        if let tenant, !tenant.has(.orgAndRoles) {
            throw CRMError(CRMError.Code("migration-pending"), "This tenant is being migrated; try again shortly.")
        }
        guard permissions.has(capability) else { throw CRMError.forbidden("This needs the \(capability.rawValue) capability.") }
        return permissions
    }

    /// The authenticated user, for routes that open their own transactions.
    public func requirePrincipal() throws -> Principal {
        guard let principal else { throw CRMError.unauthorized }
        return principal
    }

    /// The operator, when their role is one of `roles`; else 403.
    public func requireOperator(_ roles: Operator.Role...) throws -> OperatorPrincipal {
        guard let op = operatorPrincipal else { throw CRMError.unauthorized }
        guard roles.isEmpty || roles.contains(op.operator.role) else {
            throw CRMError.forbidden("This call needs the operator role \(roles.map(\.rawValue).joined(separator: " or ")).")
        }
        return op
    }

    /// The audit actor for an operator's request.
    public func operatorActor() -> AuditEntry {
        AuditEntry(actorType: "operator", actorId: operatorPrincipal?.operator.id,
                   actorLabel: operatorPrincipal?.operator.email, action: "")
    }
}

/// Who the request turned out to be for, shared by reference with the request log middleware.
public final class RequestLogInfo: Sendable {
    private let values = NIOLockedValueBox<(tenant: String?, user: String?)>((nil, nil))
    public var tenant: String? {
        get { values.withLockedValue { $0.tenant } }
        set { values.withLockedValue { $0.tenant = newValue } }
    }
    public var user: String? {
        get { values.withLockedValue { $0.user } }
        set { values.withLockedValue { $0.user = newValue } }
    }
}

extension Optional {
    /// The value, or 401: for what the auth middleware must have set.
    func unwrap() throws -> Wrapped {
        guard let self else { throw CRMError.unauthorized }
        return self
    }
}
