import CRMCore
import Hummingbird

extension AppConfig.StatementBudgets {
    /// The statement timeout of a tenant request; nil: the connection's default (admin calls,
    /// which add columns and build indexes).
    func of(_ request: Request, endpoint: String?) -> Duration? {
        let path = endpoint ?? request.uri.path
        if path.hasPrefix("/api/v1/admin") { return nil }
        switch request.method {
        case .get, .head:
            return path.hasPrefix("/api/v1/records/") && (path.hasSuffix("/{id}") || path.hasSuffix("/:id")) ? read : list
        default:
            return write
        }
    }
}
