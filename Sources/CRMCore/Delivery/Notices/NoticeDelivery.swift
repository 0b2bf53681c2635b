import Crypto
import Foundation
import Logging
import PostgresNIO

/// Delivers a tenant's pending notices (outbox stream `notice`), in the caller's transaction:
/// each becomes an inbox item for its user and, when it goes by e-mail to an active user, an
/// outbox row of stream `email` with a job that sends it (`NoticeMailJob`). The notice is
/// marked delivered in the same transaction, so it is delivered once; the e-mail leaves after
/// the commit, from the job, so no transaction is held open across the network.
///
/// A notice that cannot be delivered (no `user_id`, an unknown user) is marked delivered with
/// the reason in `last_error` rather than blocking the ones behind it.
public struct NoticeDelivery: Sendable {
    public let tenantId: UUID
    public let jobs: JobQueue
    public let timeZone: TimeZone
    /// The job kind e-mails are sent by (tests use their own, to run only their own jobs).
    public let mailJobKind: String

    public init(tenantId: UUID, jobs: JobQueue, timeZone: TimeZone = TimeZone(identifier: "UTC") ?? .gmt,
                mailJobKind: String = NoticeMailJob.kind) {
        self.tenantId = tenantId
        self.jobs = jobs
        self.timeZone = timeZone
        self.mailJobKind = mailJobKind
    }

    /// For `tenant`: its id and time zone (times in texts are the tenant's).
    public init(tenant: Tenant, jobs: JobQueue, mailJobKind: String = NoticeMailJob.kind) {
        self.init(tenantId: tenant.id, jobs: jobs, timeZone: TimeZone(identifier: tenant.timeZone) ?? TimeZone(identifier: "UTC") ?? .gmt,
                  mailJobKind: mailJobKind)
    }

    /// Delivers up to `limit` due notices; returns how many were taken (delivered or refused).
    @discardableResult
    public func deliver(now: Date, logger: Logger, limit: Int = 500, in tx: Transaction) async throws -> Int {
        var notices: [(id: UUID, kind: String, payload: String)] = []
        for try await row in try await tx.query("""
            SELECT id, kind, payload::text FROM outbox
            WHERE stream = 'notice' AND delivered_at IS NULL AND deliver_after <= \(now)
            ORDER BY deliver_after, id LIMIT \(Int64(max(1, limit))) FOR UPDATE SKIP LOCKED
            """).decode((UUID, String, String).self) { notices.append(row) }
        guard !notices.isEmpty else { return 0 }

        var contents: [(notice: UUID, content: NoticeContent)] = []
        var refused: [UUID: String] = [:]
        for notice in notices {
            switch NoticeContent.read(kind: notice.kind, payload: JSONValue.parse(notice.payload) ?? .null, timeZone: timeZone) {
            case .success(let content): contents.append((notice.id, content))
            case .failure(let error): refused[notice.id] = error.description
            }
        }
        var active: [UUID: Bool] = [:]
        for try await (id, isActive) in try await tx.query(
            "SELECT id, is_active FROM users WHERE id = ANY(\(Array(Set(contents.map(\.content.userId)))))").decode((UUID, Bool).self) {
            active[id] = isActive
        }

        var items: [JSONValue] = [], mails: [JSONValue] = []
        for (notice, content) in contents {
            guard let isActive = active[content.userId] else {
                refused[notice] = "no user \(content.userId.uuidString.lowercased()) in this tenant"
                continue
            }
            let user = content.userId.uuidString.lowercased(), noticeText = notice.uuidString.lowercased()
            if content.channels.contains(.inbox) {
                items.append(.object([
                    "id": .string(UUID.v7(now: now).uuidString.lowercased()), "user_id": .string(user), "notice_id": .string(noticeText),
                    "kind": .string(content.kind), "title": .string(content.title), "body": content.body.map(JSONValue.string) ?? .null,
                    "object": content.object.map(JSONValue.string) ?? .null,
                    "record_id": content.recordId.map { .string($0.uuidString.lowercased()) } ?? .null,
                ]))
            }
            // Deactivated users get no mail; they keep their inbox items.
            if content.channels.contains(.email), isActive {
                mails.append(.object([
                    "id": .string(Self.mailId(notice: notice, user: content.userId).uuidString.lowercased()),
                    "payload": .object([
                        "notice_id": .string(noticeText), "user_id": .string(user), "kind": .string(content.kind),
                        "subject": .string(content.title), "body": content.body.map(JSONValue.string) ?? .null,
                    ]),
                ]))
            }
        }
        if !items.isEmpty {
            // The item is as old as its notice: the inbox sorts by when things happened.
            try await tx.execute("""
                INSERT INTO inbox_items (id, user_id, notice_id, kind, title, body, object, record_id, created_at)
                SELECT x.id, x.user_id, x.notice_id, x.kind, x.title, x.body, x.object, x.record_id, o.created_at
                FROM jsonb_to_recordset(\(JSONValue.array(items).jsonText)::jsonb)
                     AS x(id uuid, user_id uuid, notice_id uuid, kind text, title text, body text, object text, record_id uuid)
                JOIN outbox o ON o.id = x.notice_id
                ON CONFLICT (notice_id) DO NOTHING
                """)
        }
        if !mails.isEmpty {
            var created: [UUID] = []
            for try await id in try await tx.query("""
                INSERT INTO outbox (id, kind, stream, payload, created_at, deliver_after)
                SELECT x.id, 'notice.email', 'email', x.payload, \(now), \(now)
                FROM jsonb_to_recordset(\(JSONValue.array(mails).jsonText)::jsonb) AS x(id uuid, payload jsonb)
                ON CONFLICT (id) DO NOTHING
                RETURNING id
                """).decode(UUID.self) { created.append(id) }
            // One job per e-mail, committed with it; its dedupe key keeps it single.
            try await tx.asPlatform {
                for id in created {
                    try await jobs.enqueue(NewJob(
                        kind: mailJobKind, tenantId: tenantId, payload: .object(["email_id": .string(id.uuidString.lowercased())]),
                        dedupeKey: "\(mailJobKind):\(tenantId.uuidString.lowercased()):\(id.uuidString.lowercased())",
                        maxAttempts: NoticeMailJob.maxAttempts), in: tx)
                }
            }
        }
        let ids = notices.map(\.id)
        let errors = ids.map { refused[$0] ?? "" }
        try await tx.execute("""
            UPDATE outbox o SET delivered_at = \(now), attempts = o.attempts + 1, last_error = nullif(x.error, '')
            FROM unnest(\(ids)::uuid[], \(errors)::text[]) AS x(id, error) WHERE o.id = x.id
            """)
        for (id, reason) in refused {
            logger.warning("notice not deliverable", metadata: ["notice_id": .string(id.uuidString.lowercased()), "reason": .string(reason)])
        }
        return notices.count
    }

    /// The e-mail row of a notice to a user: the same ids give the same row, so delivering a
    /// notice again cannot add a second e-mail.
    public static func mailId(notice: UUID, user: UUID) -> UUID {
        UUID.derived(from: "notice-email:\(notice.uuidString.lowercased()):\(user.uuidString.lowercased())")
    }
}

extension UUID {
    /// A name-based UUID (RFC 9562 version 8 from SHA-256 of `name`): the same name, the same id.
    static func derived(from name: String) -> UUID {
        var b = Array(SHA256.hash(data: Data(name.utf8)).prefix(16))
        b[6] = (b[6] & 0x0F) | 0x80
        b[8] = (b[8] & 0x3F) | 0x80
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}
