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
    /// The generated functions, rebuilt from here when a call finds them missing or stale.
    public let functions: RecordReadFunction
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
        // Every column as text, timestamps as microseconds: rows of a statement prepared through
        // PostgresNIO's legacy API arrive in binary but are decoded as the text the statement's
        // description names, and only for text are the two the same.
        let select = """
            SELECT ((extract(epoch FROM o_last_used) * 1000000)::int8)::text, ((extract(epoch FROM o_expires) * 1000000)::int8)::text,
                   o_av::text, o_mv::text, o_gen::text, o_body, o_version::text FROM \(schema.schema.quoted).\(function.quoted)
            """
        let binds = [PostgresData(type: .bytea, value: hash), PostgresData(uuid: entry.principal.user.id), PostgresData(uuid: id),
                     PostgresData(bool: all), PostgresData(array: owners.map { PostgresData(uuid: $0) }, elementType: .uuid),
                     PostgresData(array: hidden.map { PostgresData(string: $0) }, elementType: .text)]
        let row: (String, String?, String, String, String, String?, String?)?
        do {
            row = try await db.withTenantLease(schema) { connection in
                try Transaction.checkOpen(connection)
                let rows = try await db.statements.rows(select + "($1, $2, $3, $4, $5, $6)", binds: binds, on: connection, logger: db.logger)
                return try rows.first?.decode((String, String?, String, String, String, String?, String?).self)
            }
        } catch let error as PSQLError where error.sqlState != nil {
            // A server error (no read function yet, a refused role switch, a column another
            // instance has purged): the ordinary path decides, with fresh metadata and its own retry.
            if let code = error.sqlState { rebuildIfStale(code, tenant) }
            return .fallback
        } catch let error as StatementCache.ServerError {
            rebuildIfStale(error.sqlState, tenant)
            return .fallback
        }
        let now = clock.now()
        guard let (lastUsedText, expiresText, avText, mvText, generatedText, body, versionText) = row,
              let lastUsed = Int64(lastUsedText).map(Date.init(microseconds:)), let av = Int64(avText), let mv = Int64(mvText),
              let generated = Int64(generatedText)
        else {
            sessions.remove(hash)
            return .fallback
        }
        let expires = expiresText.flatMap { Int64($0) }.map(Date.init(microseconds:)), version = versionText.flatMap { Int64($0) }
        guard TokenCheck.isLive(kind: entry.principal.tokenKind, lastUsed: lastUsed, expires: expires, now: now,
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

    /// Undefined function, schema not usable, privilege, column: the function is missing or stale.
    private func rebuildIfStale(_ sqlState: String, _ tenant: Tenant) {
        if ["42883", "3F000", "42501", "42703"].contains(sqlState) { functions.rebuildSoon(tenant) }
    }
}

extension Date {
    init(microseconds: Int64) { self.init(timeIntervalSince1970: Double(microseconds) / 1_000_000) }
}
