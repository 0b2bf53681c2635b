import Foundation
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// Reads one record in a single round trip: the token check, the tenant's access and metadata
/// versions and the record come from one statement, run as the tenant's role through
/// `platform.tenant_query`. Works only from what is cached (session, permissions, metadata);
/// whenever anything is missing or has moved it answers `.fallback` and the request takes the
/// ordinary path, which checks everything again and refills the caches.
public struct OneTripRead: Sendable {
    let db: Database
    let sessions: SessionCache
    let access: AccessService
    let metadata: MetadataService
    let config: IdentityConfig
    let clock: any WallClock
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
    }

    static func hex(_ buffer: ByteBuffer) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(buffer.readableBytes * 2)
        for byte in buffer.readableBytesView {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public enum Outcome: Sendable {
        /// The record, and who read it (for the request log).
        case found(RecordService.Fetched, userId: UUID)
        case notFound
        case fallback
    }

    public func get(_ objectName: String, id: UUID, bearer token: String, tenant: Tenant, readOnlyRequest: Bool = true) async throws -> Outcome {
        let hash = AccessToken.hash(token)
        guard let entry = sessions.get(hash), entry.tenantId == tenant.id, tenant.hasMigration("core", 3),
              let model = await access.cache.cachedPermissions(tenant: tenant.id, user: entry.principal.user.id,
                                                               version: entry.principal.accessVersion),
              let meta = await metadata.cache.cached(tenant: tenant.id, version: entry.principal.metadataVersion)
        else { return .fallback }
        // A refusal from cached state is not final: the versions may have moved since. The
        // ordinary path decides those.
        guard let object = meta.objects[objectName], model.may(.read, on: objectName) else { return .fallback }
        let caller = RecordCaller(principal: entry.principal, permissions: model, metadata: meta, meta: RequestMeta(requestId: "", clientAddress: ""))
        var params: [String] = [Self.hex(hash), id.uuidString, entry.principal.user.id.uuidString]
        let scope: String
        switch model.filter(.read, on: objectName) {
        case .nothing: return .fallback
        case .all: scope = "true"
        case .owners(let owners):
            params.append("{" + owners.map(\.uuidString).joined(separator: ",") + "}")
            scope = "t.owner_id = ANY($1[4]::uuid[])"
        }
        let read = RecordSQL.getByIdSQL(object, fields: caller.visibleFields(object), idPlaceholder: "$1[2]::uuid", scope: scope)
        let sql = """
            SELECT tok.last_used_at, tok.expires_at, u.is_active,
                   coalesce((SELECT (value #>> '{}')::int8 FROM settings WHERE key = 'access_version'), 0),
                   coalesce((SELECT (value #>> '{}')::int8 FROM settings WHERE key = 'metadata_version'), 0),
                   rec.body, rec.version
            FROM auth_tokens tok JOIN users u ON u.id = tok.user_id
            LEFT JOIN LATERAL (\(read)) AS rec(body, version) ON true
            WHERE tok.token_hash = decode($1[1], 'hex') AND tok.revoked_at IS NULL AND tok.user_id = $1[3]::uuid
            """
        let schema = try tenant.schema()
        let query: PostgresQuery = """
            SELECT * FROM platform.tenant_query(\(schema.role.name), \(schema.schema.name), \(sql), \(params))
                AS r(last_used timestamptz, expires timestamptz, active boolean, av int8, mv int8, body text, version int8)
            """
        let row: (Date, Date?, Bool, Int64, Int64, String?, Int64?)?
        do {
            row = try await db.withLease { connection in
                for try await row in try await connection.query(query, logger: db.logger)
                    .decode((Date, Date?, Bool, Int64, Int64, String?, Int64?).self) { return row }
                return nil
            }
        } catch let error as PSQLError where error.sqlState != nil {
            // A server error (a refused role switch, a column another instance has purged):
            // the ordinary path decides, with fresh metadata and its own retry.
            return .fallback
        }
        let now = clock.now()
        guard let (lastUsed, expires, active, av, mv, body, version) = row, active,
              expires.map({ $0 > now }) ?? true,
              !(entry.principal.tokenKind == "session" && now.timeIntervalSince(lastUsed) >= config.sessionIdleTimeout),
              av == entry.principal.accessVersion, mv == entry.principal.metadataVersion,
              // The idle clock is written at most once a minute, on the ordinary path.
              now.timeIntervalSince(lastUsed) < 60
        else {
            sessions.remove(hash)
            return .fallback
        }
        served.withLockedValue { $0 += 1 }
        guard let body, let version else { return .notFound }
        return .found(RecordService.Fetched(json: body, version: version), userId: entry.principal.user.id)
    }
}
