import Crypto
import Metrics
import Foundation
import PostgresNIO

/// The tenant admin's view of and changes to the subscription (spec §2.7): increases and upgrades
/// apply at once with a proration invoice finalized immediately; decreases and downgrades wait for
/// the period end. A change must carry the hash of the preview it was shown (409 `preview_stale`).
public struct SubscriptionService: Sendable {
    public let db: Database
    public let clock: any WallClock
    public let collector: PaymentCollector?
    let audit = AuditLog()

    public init(db: Database, clock: any WallClock, collector: PaymentCollector?) {
        self.db = db
        self.clock = clock
        self.collector = collector
    }

    /// The subscription as the admin sees it.
    public struct View: Sendable, Codable, Equatable {
        public var id: UUID
        public var plan: String
        public var planVersion: Int
        public var seats: Int
        public var status: String
        public var currency: String
        public var seatPriceMinor: Int64
        public var periodStart: Date
        public var periodEnd: Date
        public var trialEnd: Date?
        public var cancelAtPeriodEnd: Bool
        public var pending: Pending?

        /// A decrease or downgrade waiting for the period end.
        public struct Pending: Sendable, Codable, Equatable {
            public var plan: String
            public var seats: Int
            public var effectiveAt: Date
            enum CodingKeys: String, CodingKey { case plan, seats, effectiveAt = "effective_at" }
        }

        enum CodingKeys: String, CodingKey {
            case id, plan, seats, status, currency, pending
            case planVersion = "plan_version", seatPriceMinor = "seat_price_minor", periodStart = "period_start"
            case periodEnd = "period_end", trialEnd = "trial_end", cancelAtPeriodEnd = "cancel_at_period_end"
        }
    }

    /// What a change would do.
    public struct Preview: Sendable, Codable, Equatable {
        public var effective: String
        public var effectiveAt: Date
        public var currency: String
        public var lines: [Line]
        public var totalMinor: Int64
        public var previewHash: String

        /// One line of the proration.
        public struct Line: Sendable, Codable, Equatable {
            public var kind: String
            public var description: String
            public var quantity: Int
            public var amountMinor: Int64
            public var prorationNum: Int64
            public var prorationDen: Int64
            enum CodingKeys: String, CodingKey {
                case kind, description, quantity
                case amountMinor = "amount_minor", prorationNum = "proration_num", prorationDen = "proration_den"
            }
        }
        enum CodingKeys: String, CodingKey {
            case effective, currency, lines
            case effectiveAt = "effective_at", totalMinor = "total_minor", previewHash = "preview_hash"
        }
    }

    struct Current {
        var id: UUID
        var tenantStatus: String
        var status: String
        var version: PlanVersion
        var quantity: Int
        var periodStart: Date
        var periodEnd: Date
        var trialEnd: Date?
        var cancelAtEnd: Bool
        var pendingVersion: UUID?
        var pendingQty: Int?
        var pendingAt: Date?
        var lockVersion: Int
        var timezone: String
        var activeUsers: Int
    }

    func load(_ tenantId: UUID, lock: Bool, in tx: Transaction) async throws -> Current {
        let rows = try await tx.query("""
            SELECT s.id, t.status, s.status, s.plan_version_id, s.quantity, s.current_period_start, s.current_period_end,
                   s.trial_end, s.cancel_at_period_end, s.pending_plan_version_id, s.pending_quantity, s.pending_effective_at,
                   s.lock_version, a.timezone, coalesce(u.seats, 0)
            FROM platform.subscriptions s JOIN platform.billing_accounts a ON a.tenant_id = s.tenant_id
            JOIN platform.tenants t ON t.id = s.tenant_id LEFT JOIN platform.tenant_usage u ON u.tenant_id = s.tenant_id
            WHERE s.tenant_id = \(tenantId) AND s.status <> 'cancelled'
            \(unescaped: lock ? "FOR UPDATE OF s" : "")
            """)
        var found: (UUID, String, String, UUID, Int32, Date, Date, Date?, Bool, UUID?, Int32?, Date?, Int32, String, Int32)?
        for try await row in rows {
            let c = row.makeRandomAccess()
            found = (try c[0].decode(UUID.self), try c[1].decode(String.self), try c[2].decode(String.self), try c[3].decode(UUID.self),
                     try c[4].decode(Int32.self), try c[5].decode(Date.self), try c[6].decode(Date.self), try c[7].decode(Date?.self),
                     try c[8].decode(Bool.self), try c[9].decode(UUID?.self), try c[10].decode(Int32?.self), try c[11].decode(Date?.self),
                     try c[12].decode(Int32.self), try c[13].decode(String.self), try c[14].decode(Int32.self))
        }
        // The plan version is read once the subscription's rows are consumed (one query at a time per connection).
        if let (id, tStatus, status, versionId, qty, ps, pe, trialEnd, cancel, pv, pq, pa, lv, zone, users) = found,
           let version = try await PlanVersion.find(versionId, in: tx) {
            return Current(id: id, tenantStatus: tStatus, status: status, version: version, quantity: Int(qty), periodStart: ps,
                           periodEnd: pe, trialEnd: trialEnd, cancelAtEnd: cancel, pendingVersion: pv, pendingQty: pq.map(Int.init),
                           pendingAt: pa, lockVersion: Int(lv), timezone: zone, activeUsers: Int(users))
        }
        throw CRMError.notFound("This tenant has no live subscription.")
    }

    public func show(tenantId: UUID) async throws -> View {
        try await db.platformTransaction { tx in
            let c = try await load(tenantId, lock: false, in: tx)
            var pending: View.Pending?
            if c.pendingVersion != nil || c.pendingQty != nil, let at = c.pendingAt {
                var plan = c.version
                if let pv = c.pendingVersion, let v = try await PlanVersion.find(pv, in: tx) { plan = v }
                pending = .init(plan: plan.planId, seats: c.pendingQty ?? c.quantity, effectiveAt: at)
            }
            return View(id: c.id, plan: c.version.planId, planVersion: c.version.version, seats: c.quantity, status: c.status,
                        currency: c.version.currency, seatPriceMinor: c.version.seatPriceMinor, periodStart: c.periodStart,
                        periodEnd: c.periodEnd, trialEnd: c.trialEnd, cancelAtPeriodEnd: c.cancelAtEnd, pending: pending)
        }
    }

    /// Validates the request against the current subscription and works out the change.
    func plan(_ c: Current, plan: String?, seats: Int?, now: Date, in tx: Transaction) async throws -> (Preview, PlanVersion, Int, String) {
        var errors = FieldErrors()
        var target = c.version
        if let plan {
            if let v = try await PlanVersion.current(plan: plan, in: tx) { target = v } else {
                errors.add("plan", "unknown_plan", "No plan \(plan).")
            }
        }
        let newSeats = seats ?? c.quantity
        if let seats, seats < 1 || seats > 10_000 { errors.add("seats", "out_of_range", "Seats must be 1 to 10000.") }
        try errors.throwIfAny()
        if let max = target.maxSeats, newSeats > max {
            throw CRMError.invalid("seats", "above_plan_maximum", "The plan \(target.planId) allows at most \(max) seats.")
        }
        if newSeats < c.activeUsers {
            throw CRMError(.conflict, "There are \(c.activeUsers) active users; deactivate users before going below that.",
                           fieldErrors: [FieldError(field: "seats", code: "below_active_users",
                                                    message: "At least \(c.activeUsers) seats are in use.")])
        }
        if target.id == c.version.id && newSeats == c.quantity {
            throw CRMError.invalid(plan != nil ? "plan" : "seats", "no_change", "This is the current plan and seat count.")
        }
        if target.currency != c.version.currency {
            throw CRMError.invalid("plan", "currency_mismatch", "The plan is billed in another currency.")
        }
        let oldFull = c.version.fullPrice(quantity: c.quantity), newFull = target.fullPrice(quantity: newSeats)
        let increase = newFull > oldFull || (newFull == oldFull && target.tierRank > c.version.tierRank)
        let kind: String
        if target.id == c.version.id { kind = increase ? "seat_increase" : "seat_decrease" } else { kind = increase ? "upgrade" : "downgrade" }
        if increase && (c.status == "past_due" || c.status == "unpaid" || c.tenantStatus == "past_due" || c.tenantStatus == "suspended") {
            throw CRMError(CRMError.Code("changes_blocked_overdue", status: 409),
                           "Increases are refused while an invoice is overdue; pay it first.")
        }
        let calendar = BillingCalendar(identifier: c.timezone) ?? BillingCalendar(timeZone: .gmt)
        var lines: [Preview.Line] = []
        var effectiveAt = c.periodEnd
        if increase {
            effectiveAt = now
            // A trial is free: the change applies with nothing to prorate.
            if c.status != "trial" {
                let p = calendar.days(from: c.periodStart, to: c.periodEnd)
                let r = min(p, calendar.days(from: now, to: c.periodEnd))
                if target.id == c.version.id {
                    let added = Int64(newSeats - c.quantity) * target.seatPriceMinor
                    lines.append(.init(kind: "proration_charge", description: "\(newSeats - c.quantity) added seats, \(r) of \(p) days",
                                       quantity: newSeats - c.quantity,
                                       amountMinor: Proration.charge(full: added, days: r, periodDays: p), prorationNum: r, prorationDen: p))
                } else {
                    let change = Proration.change(oldFull: oldFull, newFull: newFull, periodDays: p, remainingDays: r)
                    lines.append(.init(kind: "proration_credit", description: "Unused \(c.version.planId) × \(c.quantity), \(r) of \(p) days",
                                       quantity: c.quantity, amountMinor: -change.credit, prorationNum: r, prorationDen: p))
                    lines.append(.init(kind: "proration_charge", description: "\(target.planId) × \(newSeats), \(r) of \(p) days",
                                       quantity: newSeats, amountMinor: change.charge, prorationNum: r, prorationDen: p))
                }
            }
        }
        let total = lines.reduce(0) { $0 + $1.amountMinor }
        var hasher = SHA256()
        let material = [c.id.uuidString, String(c.lockVersion), target.id.uuidString, String(newSeats), calendar.localDate(now),
                        lines.map { "\($0.kind):\($0.amountMinor)" }.joined(separator: ",")].joined(separator: "|")
        hasher.update(data: Data(material.utf8))
        let hash = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        let preview = Preview(effective: increase ? "immediate" : "period_end", effectiveAt: effectiveAt, currency: target.currency,
                              lines: lines, totalMinor: total, previewHash: hash)
        return (preview, target, newSeats, kind)
    }

    public func preview(tenantId: UUID, plan: String?, seats: Int?) async throws -> Preview {
        try await db.platformTransaction { tx in
            let c = try await load(tenantId, lock: false, in: tx)
            return try await self.plan(c, plan: plan, seats: seats, now: clock.now(), in: tx).0
        }
    }

    /// Applies a previewed change; returns the new view and the proration invoice, if one was made.
    public func change(tenantId: UUID, plan: String?, seats: Int?, previewHash: String?, actor: AuditEntry,
                       meta: RequestMeta) async throws -> (View, UUID?) {
        guard let previewHash, !previewHash.isEmpty else {
            throw CRMError.invalid("preview_hash", "required", "Preview the change first and send its preview_hash.")
        }
        let now = clock.now()
        let invoiceId: UUID? = try await db.platformTransaction { tx in
            try await tx.execute("SELECT set_config('search_path', 'platform', true)")
            let c = try await load(tenantId, lock: true, in: tx)
            let (preview, target, newSeats, kind) = try await self.plan(c, plan: plan, seats: seats, now: now, in: tx)
            guard preview.previewHash == previewHash else {
                throw CRMError(CRMError.Code("preview_stale", status: 409), "The subscription or prices changed since the preview; preview again.")
            }
            let changeId = UUID.v7(now: now)
            var invoiceId: UUID?
            if preview.effective == "immediate" {
                if !preview.lines.isEmpty {
                    let id = UUID.v7(now: now)
                    invoiceId = id
                    try await tx.execute("""
                        INSERT INTO platform.invoices (id, tenant_id, subscription_id, kind, status, currency, period_start, period_end,
                                                       dedupe_key, created_at)
                        VALUES (\(id), \(tenantId), \(c.id), 'proration', 'draft', \(target.currency), \(now), \(c.periodEnd),
                                \("change:" + changeId.uuidString.lowercased()), \(now))
                        """)
                    for (i, line) in preview.lines.enumerated() {
                        try await tx.execute("""
                            INSERT INTO platform.invoice_lines (id, invoice_id, line_no, kind, description, plan_version_id, quantity,
                                unit_amount_minor, amount_minor, service_start, service_end, proration_num, proration_den)
                            VALUES (\(UUID.v7(now: now)), \(id), \(i + 1), \(line.kind), \(line.description),
                                    \(line.kind == "proration_credit" ? c.version.id : target.id), \(line.quantity),
                                    \(line.kind == "proration_credit" ? c.version.seatPriceMinor : target.seatPriceMinor),
                                    \(line.amountMinor), \(now), \(c.periodEnd), \(line.prorationNum), \(line.prorationDen))
                            """)
                    }
                    try await InvoiceFinalizer.finalize(id, now: now, in: tx)
                    Counter(label: "billing_invoices_total", dimensions: [("kind", "proration"), ("outcome", "created")]).increment()
                }
                try await tx.execute("""
                    UPDATE platform.subscriptions SET plan_version_id = \(target.id), quantity = \(newSeats),
                        pending_plan_version_id = NULL, pending_quantity = NULL, pending_effective_at = NULL,
                        lock_version = lock_version + 1, updated_at = \(now)
                    WHERE id = \(c.id)
                    """)
                try await tx.execute("UPDATE platform.tenants SET plan_id = \(target.planId), updated_at = \(now) WHERE id = \(tenantId)")
            } else {
                try await tx.execute("""
                    UPDATE platform.subscriptions SET pending_plan_version_id = \(target.id == c.version.id ? nil : target.id),
                        pending_quantity = \(newSeats == c.quantity ? nil : newSeats), pending_effective_at = \(c.periodEnd),
                        lock_version = lock_version + 1, updated_at = \(now)
                    WHERE id = \(c.id)
                    """)
            }
            try await tx.execute("""
                INSERT INTO platform.subscription_changes (id, subscription_id, kind, from_plan_version_id, to_plan_version_id,
                    from_qty, to_qty, requested_at, effective_at, requested_by, preview_hash, proration_invoice_id)
                VALUES (\(changeId), \(c.id), \(kind), \(c.version.id), \(target.id), \(c.quantity), \(newSeats), \(now),
                        \(preview.effectiveAt), \("\(actor.actorType):\(actor.actorId?.uuidString.lowercased() ?? "")"), \(previewHash),
                        \(invoiceId))
                """)
            var entry = actor
            entry.action = "subscription.\(kind)"
            entry.targetType = "subscription"
            entry.targetId = c.id.uuidString.lowercased()
            entry.details["seats"] = String(newSeats)
            entry.details["plan"] = target.planId
            try await audit.record(entry, meta: meta, at: now, in: tx)
            return invoiceId
        }
        if let invoiceId, let collector { _ = try? await collector.collect(invoiceId: invoiceId) }
        return (try await show(tenantId: tenantId), invoiceId)
    }

    /// Cancels at the end of the current period (the billing run ends it then).
    public func cancel(tenantId: UUID, actor: AuditEntry, meta: RequestMeta) async throws -> View {
        let now = clock.now()
        try await db.platformTransaction { tx in
            try await tx.execute("SELECT set_config('search_path', 'platform', true)")
            let c = try await load(tenantId, lock: true, in: tx)
            guard !c.cancelAtEnd else { return }
            try await tx.execute("""
                UPDATE platform.subscriptions SET cancel_at_period_end = true, lock_version = lock_version + 1, updated_at = \(now)
                WHERE id = \(c.id)
                """)
            try await tx.execute("""
                INSERT INTO platform.subscription_changes (id, subscription_id, kind, from_plan_version_id, to_plan_version_id,
                    from_qty, to_qty, requested_at, effective_at, requested_by)
                VALUES (\(UUID.v7(now: now)), \(c.id), 'cancel', \(c.version.id), \(c.version.id), \(c.quantity), \(c.quantity),
                        \(now), \(c.periodEnd), \("\(actor.actorType):\(actor.actorId?.uuidString.lowercased() ?? "")"))
                """)
            var entry = actor
            entry.action = "subscription.cancel"
            entry.targetType = "subscription"
            entry.targetId = c.id.uuidString.lowercased()
            try await audit.record(entry, meta: meta, at: now, in: tx)
        }
        return try await show(tenantId: tenantId)
    }
}

