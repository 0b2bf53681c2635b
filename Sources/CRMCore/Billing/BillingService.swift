import Foundation
import PostgresNIO
import Metrics

/// The operators' billing actions on invoices (spec §2.7): finalize, void, mark uncollectible,
/// offline payments and credit notes. Each writes its audit row in the same transaction.
public struct BillingService: Sendable {
    public let db: Database
    public let clock: any WallClock
    public let collector: PaymentCollector?
    let audit = AuditLog()
    let store = InvoiceStore()

    public init(db: Database, clock: any WallClock, collector: PaymentCollector?) {
        self.db = db
        self.clock = clock
        self.collector = collector
    }

    public func runner() -> BillingRun { BillingRun(db: db, clock: clock, collector: collector) }

    func platform<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T {
        try await db.platformTransaction { tx in
            try await tx.execute("SELECT set_config('search_path', 'platform', true)")
            return try await body(tx)
        }
    }

    func record(_ actor: AuditEntry, _ action: String, _ id: UUID, _ details: [String: String], meta: RequestMeta,
                in tx: Transaction) async throws {
        var entry = actor
        entry.action = action
        entry.targetType = "invoice"
        entry.targetId = id.uuidString.lowercased()
        entry.details.merge(details) { $1 }
        try await audit.record(entry, meta: meta, at: clock.now(), in: tx)
    }

    public func invoice(_ id: UUID, tenantId: UUID? = nil) async throws -> Invoice {
        guard let invoice = try await db.platformTransaction({ tx in try await store.find(id, tenantId: tenantId, in: tx) })
        else { throw CRMError.notFound("No such invoice.") }
        return invoice
    }

    public func invoices(tenantSlug: String) async throws -> [Invoice] {
        try await db.platformTransaction { tx in
            guard let tenant = try await TenantStore().find(slug: tenantSlug, in: tx) else {
                throw CRMError.invalid("tenant", "unknown_tenant", "No tenant with this slug.")
            }
            return try await store.list(tenantId: tenant.id, in: tx)
        }
    }

    public func invoices(tenantId: UUID) async throws -> [Invoice] {
        try await db.platformTransaction { tx in try await store.list(tenantId: tenantId, in: tx) }
    }

    public func run(id: UUID) async throws -> BillingRun.Result {
        try await db.platformTransaction { tx in
            let rows = try await tx.query("""
                SELECT as_of, dry_run, status, scanned, created, skipped_existing, failed, finalized, coalesce(duration_ms, 0),
                       error_sample::text
                FROM platform.billing_runs WHERE id = \(id)
                """)
            for try await (asOf, dry, status, scanned, created, skipped, failed, finalized, ms, errors) in rows.decode(
                (Date, Bool, String, Int32, Int32, Int32, Int32, Int32, Int64, String).self) {
                let list = (try? JSONDecoder().decode([String].self, from: Data(errors.utf8))) ?? []
                return BillingRun.Result(id: id, asOf: asOf, dryRun: dry, status: status, scanned: Int(scanned), created: Int(created),
                                         skippedExisting: Int(skipped), failed: Int(failed), finalized: Int(finalized),
                                         durationMs: ms, errors: list)
            }
            throw CRMError.notFound("No such billing run.")
        }
    }

    /// Locks invoice `id` and returns (status, total, paid, credited, tenant, currency).
    func lock(_ id: UUID, in tx: Transaction) async throws -> (String, Int64, Int64, Int64, UUID, String) {
        let rows = try await tx.query("""
            SELECT status, total_minor, amount_paid_minor, amount_credited_minor, tenant_id, currency::text
            FROM platform.invoices WHERE id = \(id) FOR UPDATE
            """)
        for try await r in rows.decode((String, Int64, Int64, Int64, UUID, String).self) { return r }
        throw CRMError.notFound("No such invoice.")
    }

    public func finalize(_ id: UUID, actor: AuditEntry, meta: RequestMeta) async throws -> Invoice {
        let number: String? = try await platform { tx in
            let (status, _, _, _, _, _) = try await lock(id, in: tx)
            guard status == "draft" else { throw CRMError(.conflict, "Only a draft can be finalized; this invoice is \(status).") }
            let number = try await InvoiceFinalizer.finalize(id, now: clock.now(), in: tx)
            try await record(actor, "invoice.finalize", id, ["number": number ?? ""], meta: meta, in: tx)
            return number
        }
        if number != nil, let collector { _ = try? await collector.collect(invoiceId: id) }
        return try await invoice(id)
    }

    public func void(_ id: UUID, reason: String?, actor: AuditEntry, meta: RequestMeta) async throws -> Invoice {
        let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard !reason.isEmpty, reason.count <= 500 else {
            throw CRMError.invalid("reason", "required", "Say why the invoice is voided (1 to 500 characters).")
        }
        try await platform { tx in
            let (status, _, paid, _, _, _) = try await lock(id, in: tx)
            guard status == "open" || status == "uncollectible" else {
                throw CRMError(.conflict, "Only an open or uncollectible invoice can be voided; this one is \(status).")
            }
            guard paid == 0 else { throw CRMError(.conflict, "A payment was applied to this invoice: issue a credit note instead.") }
            try await tx.execute("""
                UPDATE platform.invoices SET status = 'void', voided_at = \(clock.now()), void_reason = \(reason) WHERE id = \(id)
                """)
            try await record(actor, "invoice.void", id, ["reason": reason], meta: meta, in: tx)
        }
        return try await invoice(id)
    }

    public func markUncollectible(_ id: UUID, actor: AuditEntry, meta: RequestMeta) async throws -> Invoice {
        try await platform { tx in
            let (status, _, _, _, _, _) = try await lock(id, in: tx)
            guard status == "open" else { throw CRMError(.conflict, "Only an open invoice can be marked uncollectible; this one is \(status).") }
            try await tx.execute("UPDATE platform.invoices SET status = 'uncollectible', uncollectible_at = \(clock.now()) WHERE id = \(id)")
            try await record(actor, "invoice.mark_uncollectible", id, [:], meta: meta, in: tx)
        }
        return try await invoice(id)
    }

    /// An offline payment recorded by an operator; paying everything owed returns a dunning tenant to active.
    public func recordPayment(_ id: UUID, amountMinor: Int64?, method: String?, actor: AuditEntry, meta: RequestMeta) async throws -> Invoice {
        var errors = FieldErrors()
        if method != "offline" { errors.add("method", "invalid_method", "The only method operators record is offline.") }
        if amountMinor == nil || amountMinor! <= 0 { errors.add("amount_minor", "invalid_amount", "A positive amount in minor units is required.") }
        try errors.throwIfAny()
        let amount = amountMinor!
        try await platform { tx in
            let (status, total, paid, credited, tenantId, _) = try await lock(id, in: tx)
            guard status == "open" || status == "uncollectible" else {
                throw CRMError(.conflict, "Payments apply to open or uncollectible invoices; this one is \(status).")
            }
            guard amount <= total - paid - credited else {
                throw CRMError.invalid("amount_minor", "exceeds_amount_due", "At most \(total - paid - credited) is due.")
            }
            let now = clock.now()
            var attemptNo: Int32 = 1
            for try await n in try await tx.query(
                "SELECT coalesce(max(attempt_no), 0)::int4 + 1 FROM platform.payment_attempts WHERE invoice_id = \(id)").decode(Int32.self) {
                attemptNo = n
            }
            try await tx.execute("""
                INSERT INTO platform.payment_attempts (id, invoice_id, tenant_id, attempt_no, psp_idempotency_key, method,
                    amount_minor, status, outcome, attempted_at, created_by)
                VALUES (\(UUID.v7(now: now)), \(id), \(tenantId), \(attemptNo), \("\(id.uuidString.lowercased()):\(attemptNo)"),
                        'offline', \(amount), 'succeeded', 'succeeded', \(now), \(actor.actorLabel ?? "operator"))
                """)
            try await InvoicePayments.apply(id, amount: amount, now: now, in: tx)
            try await TenantBillingStatus.recover(tenantId, now: now, in: tx)
            try await record(actor, "invoice.payment", id, ["amount_minor": String(amount), "method": "offline"], meta: meta, in: tx)
        }
        return try await invoice(id)
    }

    /// A credit note from its own gapless scope `CN-yyyy`; never edits the invoice's amounts, only
    /// what is credited against it (Σ credit notes ≤ total).
    public func creditNote(_ id: UUID, amountMinor: Int64?, reason: String?, actor: AuditEntry, meta: RequestMeta) async throws -> Invoice {
        let reasons = ["duplicate", "order_change", "proration", "goodwill", "service_issue", "fraudulent", "other"]
        var errors = FieldErrors()
        if amountMinor == nil || amountMinor! <= 0 { errors.add("amount_minor", "invalid_amount", "A positive amount in minor units is required.") }
        if reason == nil || !reasons.contains(reason!) { errors.add("reason", "invalid_reason", "One of: \(reasons.joined(separator: ", ")).") }
        try errors.throwIfAny()
        let amount = amountMinor!
        try await platform { tx in
            let (status, total, paid, credited, tenantId, currency) = try await lock(id, in: tx)
            guard status != "draft" && status != "void" else {
                throw CRMError(.conflict, "Credit notes apply to finalized, not void, invoices; this one is \(status).")
            }
            guard credited + amount <= total else {
                throw CRMError.invalid("amount_minor", "exceeds_invoice_total", "At most \(total - credited) can still be credited.")
            }
            let now = clock.now()
            let scope = BillingNumbers.scope("CN", at: now)
            let seq = try await BillingNumbers.next(scope: scope, in: tx)
            let noteId = UUID.v7(now: now)
            try await tx.execute("""
                INSERT INTO platform.credit_notes (id, invoice_id, tenant_id, number_scope, sequence_no, number, reason, currency,
                    total_minor, created_by, created_at)
                VALUES (\(noteId), \(id), \(tenantId), \(scope), \(seq), \(BillingNumbers.format(scope: scope, seq)), \(reason!),
                        \(currency), \(amount), \(actor.actorLabel ?? "operator"), \(now))
                """)
            try await tx.execute("""
                INSERT INTO platform.credit_note_lines (id, credit_note_id, description, amount_minor)
                VALUES (\(UUID.v7(now: now)), \(noteId), \("Credit (\(reason!))"), \(amount))
                """)
            // Credit first covers what is still unpaid; status moves to paid when nothing is left due.
            try await tx.execute("""
                UPDATE platform.invoices SET amount_credited_minor = amount_credited_minor + \(amount),
                    status = CASE WHEN status IN ('open','uncollectible') AND amount_paid_minor + amount_credited_minor + \(amount) >= total_minor
                                  THEN 'paid' ELSE status END,
                    paid_at = CASE WHEN status IN ('open','uncollectible') AND amount_paid_minor + amount_credited_minor + \(amount) >= total_minor
                                   THEN \(now) ELSE paid_at END
                WHERE id = \(id)
                """)
            _ = paid
            try await TenantBillingStatus.recover(tenantId, now: now, in: tx)
            try await record(actor, "invoice.credit_note", id, ["amount_minor": String(amount), "reason": reason!,
                                                                "number": BillingNumbers.format(scope: scope, seq)], meta: meta, in: tx)
        }
        return try await invoice(id)
    }
}
