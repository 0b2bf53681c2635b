import Foundation
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// Reads one record in a single round trip: the token check, the tenant's access and metadata
/// versions and the record come from one call of the object's read function in the tenant's
/// schema (`RecordReadFunction`), which runs as the tenant's role with cached plans. Works only from what is cached (session, permissions, metadata);
/// whenever anything is missing or has moved it answers `.fallback` and the request takes the
/// ordinary path, which checks everything again and refills the caches.
public struct OneTripRead: Sendable {
    let db: Database
    let sessions: SessionCache
    let access: AccessService
    let metadata: MetadataService
    let config: IdentityConfig
    let clock: any WallClock
    let functions: RecordReadFunction
    /// Reads answered in one trip, for tests and diagnostics.
    public let served = NIOLockedValueBox<Int>(0)

    public init(db: Database, sessions: SessionCache, access: AccessService, metadata: MetadataService, config: IdentityConfig,
                clock: any WallClock) {
        self.db = db
        self.sessions = sessions
        self.access = access
        self.metadata = metadata
        self.config = config
        self.clock = clock
        self.functions = RecordReadFunction(db: db)
    }

    public enum Outcome: Sendable {
        /// The record, and who read it (for the request log).
        case found(RecordService.Fetched, userId: UUID)
        case notFound
        case fallback
    }

    public func get(_ objectName: String, id: UUID, bearer token: String, tenant: Tenant, readOnlyRequest: Bool = true) async throws -> Outcome {
        let hash = AccessToken.hash(token)
        guard let entry = sessions.get(hash), entry.tenantId == tenant.id, tenant.has(.metadata),
              let model = access.cache.cachedPermissions(tenant: tenant.id, user: entry.principal.user.id,
                                                               version: entry.principal.accessVersion),
              let meta = metadata.cache.cached(tenant: tenant.id, version: entry.principal.metadataVersion)
        else { return .fallback }
        // A refusal from cached state is not final: the versions may have moved since. The
        // ordinary path decides those.
        guard let object = meta.objects[objectName], model.may(.read, on: objectName) else { return .fallback }
        let caller = RecordCaller(principal: entry.principal, permissions: model, metadata: meta, meta: RequestMeta(requestId: "", clientAddress: ""))
        let all: Bool, owners: [UUID]
        switch model.filter(.read, on: objectName) {
        case .nothing: return .fallback
        case .all: (all, owners) = (true, [])
        case .owners(let list): (all, owners) = (false, list)
        }
        let hidden = object.fields.filter { !caller.isVisible($0) }.map(\.apiName)
        let schema = try tenant.schema()
        let function = try RecordReadFunction.name(for: objectName)
        let query: PostgresQuery = """
            SELECT * FROM \(unescaped: schema.schema.quoted).\(unescaped: function.quoted)(\(hash), \(entry.principal.user.id), \(id), \(all), \(owners), \(hidden))
            """
        let row: (Date, Date?, Int64, Int64, Int64, String?, Int64?)?
        do {
            row = try await db.withTenantLease(schema) { connection in
                try Transaction.checkOpen(connection)
                for try await row in try await connection.query(query, logger: db.logger)
                    .decode((Date, Date?, Int64, Int64, Int64, String?, Int64?).self) { return row }
                return nil
            }
        } catch let error as PSQLError where error.sqlState != nil {
            // A server error (no read function yet, a refused role switch, a column another
            // instance has purged): the ordinary path decides, with fresh metadata and its own retry.
            // Undefined function, schema not usable, privilege, column: the function is missing or stale.
            if let code = error.sqlState, ["42883", "3F000", "42501", "42703"].contains(code) {
                functions.rebuildSoon(tenant)
            }
            return .fallback
        }
        let now = clock.now()
        guard let (lastUsed, expires, av, mv, generated, body, version) = row,
              TokenCheck.isLive(kind: entry.principal.tokenKind, lastUsed: lastUsed, expires: expires, now: now,
                                idleTimeout: config.sessionIdleTimeout),
              av == entry.principal.accessVersion, mv == entry.principal.metadataVersion,
              // The idle clock is written at most once a minute, on the ordinary path.
              now.timeIntervalSince(lastUsed) < 60
        else {
            sessions.remove(hash)
            return .fallback
        }
        // A function generated from older metadata reads the wrong columns: rebuild it.
        guard generated == mv else {
            functions.rebuildSoon(tenant)
            return .fallback
        }
        served.withLockedValue { $0 += 1 }
        guard let body, let version else { return .notFound }
        return .found(RecordService.Fetched(json: body, version: version), userId: entry.principal.user.id)
    }
}
