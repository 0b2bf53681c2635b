import Foundation
import PostgresNIO

/// The forecast of a period, in the base currency: per owner, the won amount (closed) and the
/// open deals closing in the period by forecast category (commit, best case, pipeline; omitted
/// ones are left out) with their weighted sum, against quota; rolled up the department tree (a
/// department's figures are its whole subtree's). Figures are sums of each category alone, not
/// cumulative. One query over month totals kept per owner (under the caller's read scope, a
/// condition on the owner); the tree is summed in memory (a tenant has hundreds of users, not millions).
struct Forecast: Sendable {
    struct Figures: Codable, Equatable, Sendable {
        var count: Int64 = 0
        var closedBaseMinor: Int64 = 0
        var commitBaseMinor: Int64 = 0
        var bestCaseBaseMinor: Int64 = 0
        var pipelineBaseMinor: Int64 = 0
        var weightedBaseMinor: Int64 = 0
        /// Σ base amount × probability, exact: sums of figures round once, at the end, so a
        /// department's weighted figure is its subtree's exact sum rounded, not a sum of roundings.
        var weightedNumerator: Decimal = 0

        enum CodingKeys: String, CodingKey {
            case count, closedBaseMinor, commitBaseMinor, bestCaseBaseMinor, pipelineBaseMinor, weightedBaseMinor
        }

        init(count: Int64 = 0, closedBaseMinor: Int64 = 0, commitBaseMinor: Int64 = 0, bestCaseBaseMinor: Int64 = 0,
             pipelineBaseMinor: Int64 = 0, weightedBaseMinor: Int64 = 0) {
            self.count = count
            self.closedBaseMinor = closedBaseMinor
            self.commitBaseMinor = commitBaseMinor
            self.bestCaseBaseMinor = bestCaseBaseMinor
            self.pipelineBaseMinor = pipelineBaseMinor
            self.weightedBaseMinor = weightedBaseMinor
        }

        /// A snapshot written before a figure existed reads it as 0.
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func v(_ k: CodingKeys) throws -> Int64 { try c.decodeIfPresent(Int64.self, forKey: k) ?? 0 }
            self.init(count: try v(.count), closedBaseMinor: try v(.closedBaseMinor), commitBaseMinor: try v(.commitBaseMinor),
                      bestCaseBaseMinor: try v(.bestCaseBaseMinor), pipelineBaseMinor: try v(.pipelineBaseMinor),
                      weightedBaseMinor: try v(.weightedBaseMinor))
        }

        static func + (a: Figures, b: Figures) -> Figures {
            var sum = Figures(count: a.count + b.count, closedBaseMinor: a.closedBaseMinor + b.closedBaseMinor,
                              commitBaseMinor: a.commitBaseMinor + b.commitBaseMinor, bestCaseBaseMinor: a.bestCaseBaseMinor + b.bestCaseBaseMinor,
                              pipelineBaseMinor: a.pipelineBaseMinor + b.pipelineBaseMinor)
            sum.weightedNumerator = a.weightedNumerator + b.weightedNumerator
            sum.weightedBaseMinor = MoneyMath.round(sum.weightedNumerator / 100)
            return sum
        }
        static func - (a: Figures, b: Figures) -> Figures {
            Figures(count: a.count - b.count, closedBaseMinor: a.closedBaseMinor - b.closedBaseMinor,
                    commitBaseMinor: a.commitBaseMinor - b.commitBaseMinor, bestCaseBaseMinor: a.bestCaseBaseMinor - b.bestCaseBaseMinor,
                    pipelineBaseMinor: a.pipelineBaseMinor - b.pipelineBaseMinor, weightedBaseMinor: a.weightedBaseMinor - b.weightedBaseMinor)
        }
    }

    struct Row: Encodable {
        var id: String?
        var name: String
        /// For departments: the parent, to draw the tree.
        var parentId: String?
        var figures: Figures
        var quotaMinor: Int64?
        /// Quota − closed (negative: over quota).
        var gapMinor: Int64?
        /// Figures now minus those of the latest weekly snapshot, and its day.
        var sinceSnapshot: Figures?
        var snapshotOn: String?
        /// A user's latest submission and adjustment (`ForecastCalls`).
        var submission: ForecastCalls.Call?
        var adjustment: ForecastCalls.Call?
        /// The call: a user's adjustment, else submission; a department's, the sum of its
        /// subtree's users' calls (their figures where they have not called). Present once anyone
        /// the caller sees has called for the period.
        var call: CallFigures?
    }

    struct CallFigures: Encodable, Equatable {
        var commitMinor: Int64 = 0
        var bestCaseMinor: Int64 = 0
        static func + (a: CallFigures, b: CallFigures) -> CallFigures {
            CallFigures(commitMinor: a.commitMinor + b.commitMinor, bestCaseMinor: a.bestCaseMinor + b.bestCaseMinor)
        }
    }

    /// The calls of the users the caller sees, for `rows`.
    struct Calls {
        var submissions: [UUID: ForecastCalls.Call]
        var adjustments: [UUID: ForecastCalls.Call]

        /// What a user calls: the adjustment, else the submission, else their figures.
        func call(_ user: UUID, _ figures: Figures) -> CallFigures {
            if let c = adjustments[user] ?? submissions[user] { return CallFigures(commitMinor: c.commitMinor, bestCaseMinor: c.bestCaseMinor) }
            let commit = figures.closedBaseMinor + figures.commitBaseMinor
            return CallFigures(commitMinor: commit, bestCaseMinor: commit + figures.bestCaseBaseMinor)
        }
        var isEmpty: Bool { submissions.isEmpty && adjustments.isEmpty }
    }

    struct Result: Encodable {
        var period: String
        var from: String
        var to: String
        var baseCurrency: String
        var groupBy: String
        var rows: [Row]
        var totals: Figures
    }

    enum Grouping: String { case user, department }

    /// Figures per owner of the opportunities `scope` admits (nil: all, for the snapshot job).
    ///
    /// One query: the month totals kept by sales migration 7 for the period's months, plus the
    /// won deals between the tenant's midnight and UTC's at each end of the period (won deals are
    /// kept by UTC month; a few hours of deals, from the won_at index), added or taken away.
    func byOwner(_ period: FiscalPeriod, zone: TimeZone, pipeline: String?, scope: ((inout QueryBuilder) throws -> Void)?,
                 in tx: Transaction) async throws -> [UUID: Figures] {
        let (fromDay, toDay) = period.days, (fromAt, toAt) = period.instants(zone)
        let (fromUTC, toUTC) = period.instants(.gmt)
        var q = QueryBuilder("""
            SELECT x.owner_id, sum(x.n)::int8, sum(x.closed)::int8, sum(x.commit)::int8, sum(x.best)::int8, sum(x.pipe)::int8,
                   sum(x.weighted)::text FROM (
            SELECT t.owner_id, t.n, CASE WHEN t.status = 'won' THEN t.base_sum ELSE 0 END AS closed,
                   CASE WHEN t.status = 'open' AND t.forecast_category = 'commit' THEN t.base_sum ELSE 0 END AS commit,
                   CASE WHEN t.status = 'open' AND t.forecast_category = 'best_case' THEN t.base_sum ELSE 0 END AS best,
                   CASE WHEN t.status = 'open' AND t.forecast_category = 'pipeline' THEN t.base_sum ELSE 0 END AS pipe,
                   CASE WHEN t.status = 'open' AND t.forecast_category <> 'omitted' THEN t.weighted ELSE 0 END AS weighted
            FROM opportunity_forecast_totals AS t WHERE t.status IN ('open', 'won')
            """)
        q.append(" AND t.month >= \(try q.bind(fromDay))::date AND t.month < \(try q.bind(toDay))::date")
        if let pipeline { q.append(" AND t.pipeline = \(try q.bind(pipeline))") }
        if let scope {
            q.append(" AND ")
            try scope(&q)
        }
        // The corrections: [a, b) counted with sign +1 when the tenant's bound is before UTC's.
        let corrections = [(fromAt, fromUTC), (toUTC, toAt)].compactMap { a, b -> (Date, Date, Int)? in
            a == b ? nil : (a < b ? (a, b, 1) : (b, a, -1))
        }
        if !corrections.isEmpty {
            q.append(" UNION ALL SELECT t.owner_id, s.sign, s.sign * t.amount_base_minor, 0, 0, 0, 0 FROM opportunities AS t JOIN (VALUES ")
            for (i, (a, b, sign)) in corrections.enumerated() {
                q.append((i == 0 ? "" : ", ") + "(\(try q.bind(a))::timestamptz, \(try q.bind(b))::timestamptz, \(try q.bind(sign))::int)")
            }
            q.append(") AS s (a, b, sign) ON t.won_at >= s.a AND t.won_at < s.b WHERE t.deleted_at IS NULL AND t.status = 'won'")
            if let pipeline { q.append(" AND t.pipeline = \(try q.bind(pipeline))") }
            if let scope {
                q.append(" AND ")
                try scope(&q)
            }
        }
        q.append(") AS x WHERE x.owner_id <> '00000000-0000-0000-0000-000000000000' GROUP BY x.owner_id")
        var out: [UUID: Figures] = [:]
        for try await (owner, n, closed, commit, best, pipe, weighted) in try await tx.query(q.query)
            .decode((UUID, Int64, Int64, Int64, Int64, Int64, String).self) {
            var figures = Figures(count: n, closedBaseMinor: closed, commitBaseMinor: commit, bestCaseBaseMinor: best, pipelineBaseMinor: pipe)
            figures.weightedNumerator = Decimal(string: weighted, locale: Locale(identifier: "en_US_POSIX")) ?? 0
            figures.weightedBaseMinor = MoneyMath.round(figures.weightedNumerator / 100)
            // A totals row emptied by later writes is no deal in the period.
            guard n != 0 else { continue }
            out[owner] = figures
        }
        return out
    }

    /// The rows of `grouping`: users with figures or a quota, or every department with its subtree's sums.
    func rows(_ grouping: Grouping, period: FiscalPeriod, owners: [UUID: Figures], calls: Calls? = nil, in tx: Transaction) async throws -> [Row] {
        var quotas: [UUID: Int64] = [:]
        for try await (id, amount) in try await tx.query("""
            SELECT coalesce(user_id, department_id), amount_minor FROM quotas WHERE period = \(period.name) AND measure = 'won'
            """).decode((UUID, Int64).self) { quotas[id] = amount }
        var users: [UUID: (name: String, department: UUID?)] = [:]
        for try await (id, name, department) in try await tx.query("SELECT id, name, department_id FROM users").decode((UUID, String, UUID?).self) {
            users[id] = (name, department)
        }
        func row(_ id: UUID?, _ name: String, parent: UUID?, _ figures: Figures, quota: Int64?) -> Row {
            Row(id: id?.uuidString.lowercased(), name: name, parentId: parent?.uuidString.lowercased(), figures: figures, quotaMinor: quota,
                gapMinor: quota.map { $0 - figures.closedBaseMinor })
        }
        switch grouping {
        case .user:
            let called = Set((calls?.submissions.keys).map(Array.init) ?? []).union((calls?.adjustments.keys).map(Array.init) ?? [])
            return Set(owners.keys).union(quotas.keys.filter { users[$0] != nil }).union(called.filter { users[$0] != nil }).map { id in
                var r = row(id, users[id]?.name ?? "?", parent: users[id]?.department, owners[id] ?? Figures(), quota: quotas[id])
                if let calls, !calls.isEmpty {
                    r.submission = calls.submissions[id]
                    r.adjustment = calls.adjustments[id]
                    r.call = calls.call(id, r.figures)
                }
                return r
            }.sorted { ($0.name, $0.id!) < ($1.name, $1.id!) }
        case .department:
            var departments: [UUID: (name: String, parent: UUID?)] = [:]
            for try await (id, name, parent) in try await tx.query("SELECT id, name, parent_id FROM departments").decode((UUID, String, UUID?).self) {
                departments[id] = (name, parent)
            }
            // Each user's figures go to their department and every department above it.
            var sums: [UUID: Figures] = [:], direct: [UUID: Int64] = [:], called: [UUID: CallFigures] = [:]
            var unassigned = Figures()
            let withCalls = calls.map { !$0.isEmpty } ?? false
            for (id, user) in users {
                let figures = owners[id] ?? Figures()
                guard var d = user.department else { unassigned = unassigned + figures; continue }
                if let q = quotas[id] { direct[d, default: 0] += q }
                // Only users the caller sees add their call (calls holds only theirs; others' figures are zero).
                let call = withCalls ? calls!.call(id, figures) : CallFigures()
                var seen = Set<UUID>()
                while seen.insert(d).inserted {
                    sums[d, default: Figures()] = sums[d, default: Figures()] + figures
                    if withCalls { called[d, default: CallFigures()] = called[d, default: CallFigures()] + call }
                    guard let up = departments[d]?.parent else { break }
                    d = up
                }
            }
            // A department's quota: its own, else its users' and its child departments' (bottom up).
            var children: [UUID: [UUID]] = [:]
            for (id, d) in departments { if let p = d.parent { children[p, default: []].append(id) } }
            var effective: [UUID: Int64?] = [:]
            func quota(_ d: UUID, _ depth: Int = 0) -> Int64? {
                if let known = effective[d] { return known }
                guard depth < 100 else { return nil }
                let parts = [direct[d]] + (children[d] ?? []).map { quota($0, depth + 1) }
                let value = quotas[d] ?? (parts.allSatisfy { $0 == nil } ? nil : parts.reduce(0) { $0 + ($1 ?? 0) })
                effective[d] = value
                return value
            }
            var rows = departments.map { id, d in
                var r = row(id, d.name, parent: d.parent, sums[id] ?? Figures(), quota: quota(id))
                if withCalls { r.call = called[id] ?? CallFigures() }
                return r
            }.sorted { ($0.name, $0.id!) < ($1.name, $1.id!) }
            if unassigned != Figures() { rows.append(row(nil, "(no department)", parent: nil, unassigned, quota: nil)) }
            return rows
        }
    }

    /// The forecast as `caller` may see it (their read scope on opportunities).
    func forecast(_ period: FiscalPeriod, grouping: Grouping, pipeline: String?, caller: RecordCaller, now: Date,
                  in tx: Transaction) async throws -> Result {
        let object = try caller.readable("opportunity")
        let owners = try await byOwner(period, zone: caller.zone, pipeline: pipeline, scope: { q in try caller.scope(.read, on: object, into: &q) },
                                       in: tx)
        // Calls are for all pipelines: shown only on the forecast of all of them.
        var calls: Calls?
        if pipeline == nil {
            let (submissions, adjustments) = try await ForecastCalls().latest(period, in: tx)
            func sees(_ user: UUID) -> Bool { caller.permissions.reaches(.read, on: object.apiName, ownedBy: user) }
            calls = Calls(submissions: submissions.filter { sees($0.key) }, adjustments: adjustments.filter { sees($0.key) })
        }
        var rows = try await rows(grouping, period: period, owners: owners, calls: calls, in: tx)
        // What changed since the latest weekly snapshot (all pipelines only: snapshots are taken so).
        if pipeline == nil {
            var snapshots: [UUID: (String, Figures)] = [:]
            for try await (id, day, figures) in try await tx.query("""
                SELECT DISTINCT ON (group_id) group_id, taken_on::text, figures::text FROM forecast_snapshots
                WHERE period = \(period.name) AND group_kind = \(grouping.rawValue) AND taken_on < \(OpportunityWriteHook.day(now, caller.zone))::date
                ORDER BY group_id, taken_on DESC
                """).decode((UUID, String, String).self) {
                if let f = try? JSONDecoder.snake.decode(Figures.self, from: Data(figures.utf8)) { snapshots[id] = (day, f) }
            }
            for i in rows.indices {
                guard let id = rows[i].id.flatMap(UUID.init(uuidString:)), let (day, before) = snapshots[id] else { continue }
                rows[i].sinceSnapshot = rows[i].figures - before
                rows[i].snapshotOn = day
            }
        }
        let base = try await Currencies().setup(in: tx).base
        let totals = owners.values.reduce(Figures(), +)
        return Result(period: period.name, from: period.days.from, to: period.days.to, baseCurrency: base.code, groupBy: grouping.rawValue,
                      rows: rows, totals: totals)
    }

    /// The weekly snapshot of the current quarter, by user and by department (all deals, no
    /// scope), once per day: a second run the same day rewrites the same rows.
    func snapshot(now: Date, zone: TimeZone, fiscalStartMonth: Int, in tx: Transaction) async throws -> Int {
        let period = FiscalPeriod.quarter(of: now, zone: zone, fiscalStartMonth: fiscalStartMonth)
        let owners = try await byOwner(period, zone: zone, pipeline: nil, scope: nil, in: tx)
        let day = OpportunityWriteHook.day(now, zone)
        var written = 0
        for grouping in [Grouping.user, .department] {
            for row in try await rows(grouping, period: period, owners: owners, in: tx) {
                guard let id = row.id.flatMap(UUID.init(uuidString:)) else { continue }
                let figures = String(decoding: try JSONOutput.encoder.encode(row.figures), as: UTF8.self)
                try await tx.execute("""
                    INSERT INTO forecast_snapshots (taken_on, period, group_kind, group_id, figures, quota_minor)
                    VALUES (\(day)::date, \(period.name), \(grouping.rawValue), \(id), \(figures)::jsonb, \(row.quotaMinor))
                    ON CONFLICT (taken_on, period, group_kind, group_id) DO UPDATE SET figures = excluded.figures, quota_minor = excluded.quota_minor
                    """)
                written += 1
            }
        }
        return written
    }
}

extension JSONDecoder {
    /// Reads what `JSONOutput.encoder` wrote (snake_case keys).
    static var snake: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
}
