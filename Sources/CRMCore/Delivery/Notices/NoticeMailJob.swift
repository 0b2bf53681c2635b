import Foundation
import Logging
import PostgresNIO

/// The job that sends one notice e-mail (an outbox row of stream `email`, made by
/// `NoticeDelivery`): it reads the row and the recipient in a short transaction, sends with no
/// transaction open, and records the outcome in another.
///
/// At least once: the row is marked sent only after the server's 250 to DATA; a crash between
/// the two sends the message again with the same Message-ID (`<notice id>.<user id>@<domain>`),
/// by which a receiver can recognise it. A temporary failure is recorded in `last_error` and the
/// job retried with the queue's backoff (`maxAttempts` times, about a day); a permanent one (a
/// 5xx answer to the message, a bad address) sets `failed_at` and is not retried.
public enum NoticeMailJob {
    public static let kind = "notice.email"
    /// 10 s doubling to an hour: the last attempt comes about 22 hours after the first.
    public static let maxAttempts = 30

    /// Registers the sender on `runner`. It also runs for a suspended tenant: the notice was
    /// written while the tenant took writes, and skipping its job would lose it silently.
    public static func register(on runner: JobRunner, kind: String = kind, settings: MailSettings,
                                transport: (any MailTransport)? = nil) {
        let transport = transport ?? settings.transport()
        runner.register(kind, whileReadOnly: true) { ctx in
            try await send(ctx, settings: settings, transport: transport)
        }
    }

    static func send(_ ctx: JobContext, settings: MailSettings, transport: any MailTransport) async throws {
        guard let text = ctx.payload.objectValue?["email_id"]?.stringValue, let emailId = UUID(uuidString: text) else {
            throw NoticeError("the job names no email_id")
        }
        let pending: PendingMail? = try await ctx.tenantTransaction { tx in
            for try await (payload, createdAt, email, name, active) in try await tx.query("""
                SELECT o.payload::text, o.created_at, u.email, u.name, coalesce(u.is_active, false)
                FROM outbox o LEFT JOIN users u ON u.id::text = o.payload ->> 'user_id'
                WHERE o.id = \(emailId) AND o.stream = 'email' AND o.delivered_at IS NULL AND o.failed_at IS NULL
                """).decode((String, Date, String?, String?, Bool).self) {
                return PendingMail(payload: JSONValue.parse(payload) ?? .null, createdAt: createdAt, email: email, name: name, active: active)
            }
            return nil
        }
        // Sent or given up already (a second job, a replay): nothing to do.
        guard let pending else { return }
        let p = pending.payload.objectValue ?? [:]
        let noticeId = p["notice_id"]?.stringValue ?? emailId.uuidString.lowercased()
        let userId = p["user_id"]?.stringValue ?? "unknown"
        var logger = ctx.logger
        logger[metadataKey: "kind"] = .string(p["kind"]?.stringValue ?? "notice")
        logger[metadataKey: "notice_id"] = .string(noticeId)
        logger[metadataKey: "user_id"] = .string(userId)

        guard pending.active, let address = pending.email else {
            try await record(emailId, failed: "the recipient is deactivated or gone: no mail", ctx: ctx)
            return
        }
        let subject = p["subject"]?.stringValue ?? "Notice"
        let message = MailMessage(
            from: settings.from, to: address, toName: pending.name, subject: subject,
            body: (p["body"]?.stringValue ?? subject) + "\n\n-- \nSent by your CRM. You get this because a notice was addressed to you.\n",
            messageId: "\(noticeId).\(userId)@\(settings.domain)", date: pending.createdAt)
        do {
            try await transport.send(message, logger: logger)
        } catch let error as MailError where error.permanent {
            logger.warning("notice e-mail refused for good", metadata: ["error": .string(error.description)])
            try await record(emailId, failed: error.description, ctx: ctx)
            return
        } catch {
            let reason = (error as? MailError)?.description ?? "\(error)"
            try await ctx.tenantTransaction { tx in
                try await tx.execute("UPDATE outbox SET attempts = attempts + 1, last_error = \(reason) WHERE id = \(emailId)")
            }
            throw MailError(permanent: false, reason)
        }
        try await ctx.tenantTransaction { tx in
            try await tx.execute("""
                UPDATE outbox SET delivered_at = \(ctx.clock.now()), attempts = attempts + 1, last_error = NULL
                WHERE id = \(emailId) AND delivered_at IS NULL
                """)
        }
    }

    static func record(_ id: UUID, failed reason: String, ctx: JobContext) async throws {
        try await ctx.tenantTransaction { tx in
            try await tx.execute("""
                UPDATE outbox SET failed_at = \(ctx.clock.now()), attempts = attempts + 1, last_error = \(reason) WHERE id = \(id)
                """)
        }
    }
}

/// An e-mail row not sent yet, with its recipient as the users table has them now.
private struct PendingMail: Sendable {
    var payload: JSONValue
    var createdAt: Date
    var email: String?
    var name: String?
    var active: Bool
}

