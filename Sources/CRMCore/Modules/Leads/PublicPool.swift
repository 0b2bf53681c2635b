import Foundation
import PostgresNIO

/// The public pool (公海): customers without an owner. Reps claim and release them; a daily
/// job reclaims customers their owners have left alone, set-based, one statement per rule.
public struct PublicPool: Sendable {
    let clock: any WallClock
    let hooks: RecordHooks

    public init(clock: any WallClock, hooks: RecordHooks = .none) {
        self.clock = clock
        self.hooks = hooks
    }

    /// Writes of customers' owners and pool bookkeeping, with history and change events.
    func write(_ sets: [SystemWrite.Assignment]) -> SystemWrite {
        SystemWrite(object: "customer", table: try! SQLIdentifier("customers"), set: sets, hooks: hooks)
    }

    /// Makes the caller the owner of a pool customer. Exactly one of many simultaneous claims
    /// wins (the row lock, then the re-checked `owner_id IS NULL`); the caps hold under
    /// concurrency because a claim first takes its rep's and department's advisory locks.
    public func claim(_ id: UUID, caller: RecordCaller, in tx: Transaction) async throws {
        guard caller.permissions.may(.update, on: "customer") else { throw CRMError.forbidden("You may not take customers.") }
        let rules = try await LeadsModule.poolRules.load(in: tx)
        let user = caller.userId, now = clock.now()
        let department = caller.permissions.departmentId
        try await tx.execute("SELECT pg_advisory_xact_lock(hashtext('crm.pool.rep'), hashtext(\(user.uuidString)))")
        if let department {
            try await tx.execute("SELECT pg_advisory_xact_lock(hashtext('crm.pool.dept'), hashtext(\(department.uuidString)))")
        }
        if rules.reclaimWaitDays > 0 {
            let since = now.addingTimeInterval(-Double(rules.reclaimWaitDays) * 86_400)
            for try await last in try await tx.query("""
                SELECT max(at) FROM pool_events WHERE customer_id = \(id) AND user_id = \(user) AND event IN ('released', 'reclaimed')
                """).decode(Date?.self) {
                if let last, last > since {
                    let until = last.addingTimeInterval(Double(rules.reclaimWaitDays) * 86_400)
                    throw CRMError.conflict("You held this customer until \(Self.day(last)); you may claim it again from \(Self.day(until)).")
                }
            }
        }
        if let cap = rules.maxPerRep {
            for try await held in try await tx.query(
                "SELECT count(*)::int8 FROM customers WHERE owner_id = \(user) AND deleted_at IS NULL").decode(Int64.self)
            where held >= cap {
                throw CRMError.conflict("You hold \(held) customers; the limit is \(cap). Release some before claiming more.")
            }
        }
        if let cap = rules.maxPerDepartment, let department {
            for try await held in try await tx.query("""
                SELECT count(*)::int8 FROM customers c JOIN users u ON u.id = c.owner_id
                WHERE u.department_id = \(department) AND c.deleted_at IS NULL
                """).decode(Int64.self) where held >= cap {
                throw CRMError.conflict("Your department holds \(held) customers; the limit is \(cap).")
            }
        }
        let claimed = try await write([.owner(user), SystemWrite.Assignment(field: nil, column: "pool_entered_at", .date(nil))]).run(
            where: { q in q.append("t.id = \(try q.bind(id)) AND t.owner_id IS NULL") },
            actor: RecordActor(userId: user, requestId: caller.meta.requestId, origin: "pool.claim"), at: now, in: tx)
        guard !claimed.isEmpty else {
            for try await _ in try await tx.query("SELECT 1 FROM customers WHERE id = \(id) AND deleted_at IS NULL").decode(Int32.self) {
                throw CRMError.conflict("Someone else has this customer now; it is no longer in the pool.")
            }
            throw CRMError.notFound("No such customer.")
        }
        try await tx.execute("INSERT INTO pool_events (customer_id, event, user_id, at) VALUES (\(id), 'claimed', \(user), \(now))")
    }

    /// The pool, newest arrivals first: each customer as the caller may see its fields, plus
    /// when it entered the pool and who held it last. `after` is the last id of the page before.
    public func list(limit: Int, after: UUID?, caller: RecordCaller, in tx: Transaction) async throws -> (json: String, last: UUID?) {
        let object = try caller.readable("customer")
        var q = QueryBuilder("SELECT t.id, ")
        q.append(RecordSQL.jsonText(caller.visibleFields(object), extra: [("pool_entered_at", "t.pool_entered_at"),
                                                                           ("pool_previous_owner", "t.pool_previous_owner")]))
        q.append(" FROM customers t WHERE t.owner_id IS NULL AND t.deleted_at IS NULL")
        if let after { q.append(" AND t.id < \(try q.bind(after))") }
        q.append(" ORDER BY t.id DESC LIMIT \(try q.bind(Int64(limit)))")
        var rows: [String] = [], last: UUID?
        for try await (id, json) in try await tx.query(q.query).decode((UUID, String).self) {
            rows.append(json)
            last = id
        }
        return ("[" + rows.joined(separator: ",") + "]", rows.count == limit ? last : nil)
    }

    /// Puts a customer back in the pool: its owner may, and anyone who may update it.
    public func release(_ id: UUID, reason: String?, caller: RecordCaller, in tx: Transaction) async throws {
        let object = try caller.readable("customer")
        var q = QueryBuilder("SELECT t.owner_id FROM customers t WHERE t.id = ")
        q.append(try q.bind(id))
        q.append(" AND t.deleted_at IS NULL AND t.owner_id IS NOT NULL AND ")
        try caller.scope(.read, on: object, into: &q)
        q.append(" FOR UPDATE")
        var owner: UUID?
        for try await o in try await tx.query(q.query).decode(UUID.self) { owner = o }
        guard let owner else { throw CRMError.notFound("No such customer with an owner.") }
        guard owner == caller.userId || caller.permissions.reaches(.update, on: "customer", ownedBy: owner) else {
            throw CRMError.forbidden("Only its owner or someone who may change it can release this customer.")
        }
        let now = clock.now()
        _ = try await write([.owner(nil), SystemWrite.Assignment(field: nil, column: "pool_entered_at", .date(now)),
                             SystemWrite.Assignment(field: nil, column: "pool_previous_owner", .expression("t.owner_id"))]).run(
            where: { q in q.append("t.id = \(try q.bind(id))") },
            actor: RecordActor(userId: caller.userId, requestId: caller.meta.requestId, origin: "pool.release"), at: now, in: tx)
        try await tx.execute("""
            INSERT INTO pool_events (customer_id, event, user_id, at, reason) VALUES (\(id), 'released', \(owner), \(now), \(reason))
            """)
    }

    /// What one reclaim run did.
    public struct ReclaimReport: Codable, Sendable, Equatable {
        public var reclaimed: Int
        public var warned: Int
        public init(reclaimed: Int, warned: Int) {
            self.reclaimed = reclaimed
            self.warned = warned
        }
    }

    /// Moves every stale customer to the pool and warns owners of those about to go, in the
    /// tenant of `tx`. Idempotent: a second run at the same time moves and warns nothing.
    public func reclaim(now: Date, in tx: Transaction) async throws -> ReclaimReport {
        let rules = try await LeadsModule.poolRules.load(in: tx)
        var report = ReclaimReport(reclaimed: 0, warned: 0)
        var groups: [(level: String?, others: [String], rule: PoolRules.Reclaim)] = [(nil, Array(rules.levels.keys), rules.reclaim)]
        for (level, rule) in rules.levels { groups.append((level, [], rule)) }
        // With the sales module on, a customer with an open opportunity is never reclaimed, and
        // one won within a rule's days is not stale for it; `days_without_won_deal` applies.
        let sales = try await salesOn(tx)
        for group in groups {
            if sales, let days = group.rule.daysWithoutWonDeal {
                let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
                report.reclaimed += try await move(group, reason: "no won deal for \(days) days", now: now, in: tx) { q in
                    q.append(" AND t.open_opportunity_count = 0 AND coalesce(t.last_won_at, t.created_at) < \(try q.bind(cutoff))")
                }
            }
            guard let days = group.rule.daysWithoutInteraction else { continue }
            let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
            let reason = "no interaction for \(days) days"
            report.reclaimed += try await move(group, reason: reason, now: now, in: tx) { q in
                q.append(" AND coalesce(t.last_contacted_at, t.created_at) < \(try q.bind(cutoff))")
                if sales { q.append(" AND t.open_opportunity_count = 0 AND (t.last_won_at IS NULL OR t.last_won_at < \(try q.bind(cutoff)))") }
            }
            guard let warn = group.rule.warnDaysBefore, warn > 0, warn < days else { continue }
            let levelSQL = "(CASE WHEN $2::text IS NOT NULL THEN c.level = $2::text ELSE (c.level IS NULL OR NOT (c.level = ANY($3::text[]))) END)"
                + (sales ? " AND c.open_opportunity_count = 0 AND (c.last_won_at IS NULL OR c.last_won_at < $5)" : "")
            var wbinds = PostgresBindings()
            wbinds.append(now)
            wbinds.append(group.level)
            wbinds.append(group.others)
            wbinds.append(now.addingTimeInterval(-Double(days - warn) * 86_400))
            wbinds.append(cutoff)
            report.warned += try await count(tx, """
                WITH due AS (
                    SELECT c.id, c.owner_id FROM customers c
                    WHERE c.owner_id IS NOT NULL AND c.deleted_at IS NULL AND \(levelSQL)
                      AND coalesce(c.last_contacted_at, c.created_at) < $4 AND coalesce(c.last_contacted_at, c.created_at) >= $5
                      AND NOT EXISTS (SELECT 1 FROM pool_events e WHERE e.customer_id = c.id AND e.event = 'warned'
                                      AND e.user_id = c.owner_id AND e.at > coalesce(c.last_contacted_at, c.created_at))
                ), events AS (
                    INSERT INTO pool_events (customer_id, event, user_id, at, reason)
                    SELECT id, 'warned', owner_id, $1, 'reclaimed in \(warn) days without an interaction' FROM due RETURNING customer_id, user_id
                ), notices AS (
                    INSERT INTO outbox (id, kind, payload, created_at, deliver_after)
                    SELECT gen_random_uuid(), 'pool.reclaim_warning', jsonb_build_object('user_id', user_id, 'customer_id', customer_id,
                           'days_left', \(warn)), $1, $1
                    FROM events RETURNING 1
                )
                SELECT count(*)::int8 FROM notices
                """, wbinds)
        }
        return report
    }

    /// Moves the group's owned customers that `stale` selects to the pool, with their pool
    /// events and notices. The level condition: one level, or every level but the overridden
    /// ones. The rows are locked before the write, so a row another transaction holds is waited
    /// for and its staleness checked again on the version that transaction left.
    private func move(_ group: (level: String?, others: [String], rule: PoolRules.Reclaim), reason: String, now: Date, in tx: Transaction,
                      stale: (inout QueryBuilder) throws -> Void) async throws -> Int {
        try await write([.owner(nil), SystemWrite.Assignment(field: nil, column: "pool_entered_at", .date(now)),
                         SystemWrite.Assignment(field: nil, column: "pool_previous_owner", .expression("t.owner_id"))]).run(
            where: { q in
                q.append("t.owner_id IS NOT NULL AND ")
                if let level = group.level { q.append("t.level = \(try q.bind(level))") } else {
                    q.append("(t.level IS NULL OR NOT (t.level = ANY(\(try q.bind(group.others)))))")
                }
                try stale(&q)
            },
            actor: .system("pool.reclaim"), at: now,
            following: { q in
                let atP = try q.bind(now), reasonP = try q.bind(reason)
                q.append("""
                    , events AS (
                        INSERT INTO pool_events (customer_id, event, user_id, at, reason)
                        SELECT id, 'reclaimed', (old_values ->> 'owner_id')::uuid, \(atP), \(reasonP) FROM upd RETURNING customer_id, user_id
                    ), notices AS (
                        INSERT INTO outbox (id, kind, payload, created_at, deliver_after)
                        SELECT gen_random_uuid(), 'pool.reclaimed', jsonb_build_object('user_id', user_id, 'customer_id', customer_id, 'reason', \(reasonP)::text), \(atP), \(atP)
                        FROM events
                    )
                    """)
            }, in: tx).count
    }

    /// Whether the sales module is on in the tenant of `tx` (its columns on customers exist then).
    private func salesOn(_ tx: Transaction) async throws -> Bool {
        for try await on in try await tx.query("SELECT EXISTS (SELECT 1 FROM modules WHERE id = 'sales' AND enabled)").decode(Bool.self) {
            return on
        }
        return false
    }

    private func count(_ tx: Transaction, _ sql: String, _ binds: PostgresBindings) async throws -> Int {
        for try await n in try await tx.query(PostgresQuery(unsafeSQL: sql, binds: binds)).decode(Int64.self) { return Int(n) }
        return 0
    }

    static func day(_ date: Date) -> String { String(JSONLogHandler.timestamp(date).prefix(10)) }
}
