import Foundation
import PostgresNIO

/// Tells a tenant's admins about a dunning step (queued by `DunningNotices`): a notice for each
/// active admin in the tenant's outbox, delivered at once to their inbox and by e-mail through
/// `NoticeDelivery`, as the modules' notices are.
///
/// Runs while the tenant is read-only (suspended or cancelled is when they most need to hear).
/// The notice ids are derived from the step and the user, so a retried job adds no second notice.
public enum BillingNoticeJob {
    public static let kind = "billing.notice"

    public static func register(on runner: JobRunner, kind: String = kind, jobs: JobQueue, mailJobKind: String = NoticeMailJob.kind) {
        runner.register(kind, whileReadOnly: true) { ctx in
            guard let tenant = ctx.tenant else { throw NoticeError("a billing notice belongs to a tenant") }
            // Retried with backoff until `crm migrate` gives the schema its inbox.
            guard tenant.has(.inbox) else { throw NoticeError("the tenant's schema has no inbox yet (crm migrate)") }
            let p = ctx.payload.objectValue ?? [:]
            guard let key = p["key"]?.stringValue, let noticeKind = p["kind"]?.stringValue, let title = p["title"]?.stringValue else {
                throw NoticeError("the job names no key, kind or title")
            }
            let body = p["body"]?.stringValue ?? ""
            let now = ctx.clock.now()
            let admins: Int = try await ctx.tenantTransaction { tx in
                let added = try await tx.update("""
                    INSERT INTO outbox (id, kind, payload, created_at, deliver_after)
                    SELECT md5(\(key) || ':' || u.id::text)::uuid, \(noticeKind),
                           jsonb_build_object('user_id', u.id, 'title', \(title)::text, 'body', \(body)::text), \(now), \(now)
                    FROM users u WHERE u.is_admin AND u.is_active
                    ON CONFLICT (id) DO NOTHING
                    """)
                try await NoticeDelivery(tenant: tenant, jobs: jobs, mailJobKind: mailJobKind).deliver(now: now, logger: ctx.logger, in: tx)
                return added
            }
            ctx.logger.info("billing notice", metadata: ["notice": .string(noticeKind), "admins": "\(admins)"])
        }
    }
}
