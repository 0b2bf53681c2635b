import Foundation
import PostgresNIO

/// Places customers in territories by the rules (`TerritoryMatcher`), set-based.
/// - A dry run counts, per territory, the customers it would hold and those that would move in,
///   with a sample of moves; it writes nothing.
/// - A run is a row of `sales_territory_runs` and a chain of jobs: each job takes the next batch
///   of live customers by id after the run's cursor, moves those whose territory differs (one
///   `SystemWrite` per target territory: history, change event and a new version for each moved
///   customer), and advances the cursor and enqueues the next job in the same transaction. A
///   failed batch rolls back and its job is retried; a finished batch is never done again. A
///   customer already in its territory is not written, so a second run moves nothing.
struct TerritoryAssignment: Sendable {
    static let jobKind = "sales.territory_assign"
    static let origin = "sales.territory_assign"
    static let batchSize = 5_000
    static let sampleSize = 20

    struct Count: Encodable, Sendable {
        var territoryId: String?
        var name: String?
        var customers: Int64
        var movingIn: Int64
    }

    struct Move: Encodable, Sendable {
        var customerId: String
        var name: String
        var from: String?
        var to: String?
    }

    struct Preview: Encodable, Sendable {
        var dryRun = true
        var customers: Int64
        var moves: Int64
        /// One entry per territory (rule-less ones included, with what they hold after) and one with
        /// `territory_id` null for customers no rule places.
        var territories: [Count]
        var sample: [Move]
    }

    struct Run: Encodable, Sendable {
        var id: String
        var jobId: String?
        var status: String
        var batchSize: Int
        var batches: Int
        var scanned: Int64
        var moved: Int64
        var createdAt: Date
        var finishedAt: Date?
    }

    func preview(metadata: TenantMetadata, in tx: Transaction) async throws -> Preview {
        let matcher = try await TerritoryMatcher.load(metadata: metadata, in: tx)
        var q = QueryBuilder()
        let expr = try q.fragment { q in q.append(try matcher.expression(alias: "t", into: &q)) }
        q.append("""
            WITH m AS MATERIALIZED (SELECT t.id, t.name, t.territory_id AS old, \(expr) AS new FROM customers t WHERE t.deleted_at IS NULL),
            counts AS (SELECT new, count(*) AS n, count(*) FILTER (WHERE old IS DISTINCT FROM new) AS moving FROM m GROUP BY new),
            sample AS (SELECT id, name, old, new FROM m WHERE old IS DISTINCT FROM new ORDER BY id LIMIT \(Self.sampleSize))
            SELECT 'count', NULL::uuid, NULL::text, NULL::uuid, new, n, moving FROM counts
            UNION ALL SELECT 'move', id, name, old, new, 0, 0 FROM sample
            """)
        var counts: [UUID?: (Int64, Int64)] = [:]
        var sample: [Move] = []
        for try await (kind, id, name, old, new, n, moving) in try await tx.query(q.query)
            .decode((String, UUID?, String?, UUID?, UUID?, Int64, Int64).self) {
            if kind == "count" { counts[new] = (n, moving) } else if let id {
                sample.append(Move(customerId: id.lowercased, name: name ?? "", from: old?.lowercased, to: new?.lowercased))
            }
        }
        var out: [Count] = []
        for t in try await TerritoryStore(hooks: .none).list(in: tx) {
            let c = counts[t.id] ?? (0, 0)
            out.append(Count(territoryId: t.id.lowercased, name: t.name, customers: c.0, movingIn: c.1))
        }
        let none = counts[nil] ?? (0, 0)
        out.append(Count(territoryId: nil, name: nil, customers: none.0, movingIn: none.1))
        return Preview(customers: counts.values.reduce(0) { $0 + $1.0 }, moves: counts.values.reduce(0) { $0 + $1.1 }, territories: out,
                       sample: sample.sorted { $0.customerId < $1.customerId })
    }

    /// Starts a run (409 `assignment-running` while another is running) and enqueues its first job.
    func start(batchSize: Int, tenant: UUID, caller: RecordCaller, jobs: JobQueue, now: Date, in tx: Transaction) async throws -> Run {
        for try await id in try await tx.query("SELECT id FROM sales_territory_runs WHERE status = 'running'").decode(UUID.self) {
            var error = CRMError(CRMError.Code("assignment-running", status: 409), "An assignment run is in progress; wait for it to finish.")
            error.extensions["run_id"] = .string(id.uuidString.lowercased())
            throw error
        }
        let id = UUID.v7(now: now)
        try await tx.execute("""
            INSERT INTO sales_territory_runs (id, status, batch_size, requested_by, created_at, updated_at)
            VALUES (\(id), 'running', \(Int32(batchSize)), \(caller.userId), \(now), \(now))
            """)
        let job = try await enqueue(run: id, batch: 0, tenant: tenant, jobs: jobs, in: tx)
        var run = try await self.run(id, in: tx)
        run.jobId = job?.lowercased
        return run
    }

    func run(_ id: UUID, in tx: Transaction) async throws -> Run {
        for try await (status, size, batches, scanned, moved, created, finished) in try await tx.query("""
            SELECT status, batch_size, batches, scanned, moved, created_at, finished_at FROM sales_territory_runs WHERE id = \(id)
            """).decode((String, Int32, Int32, Int64, Int64, Date, Date?).self) {
            return Run(id: id.lowercased, jobId: nil, status: status, batchSize: Int(size), batches: Int(batches), scanned: scanned, moved: moved,
                       createdAt: created, finishedAt: finished)
        }
        throw CRMError.notFound("No such assignment run.")
    }

    func enqueue(run: UUID, batch: Int, tenant: UUID, jobs: JobQueue, in tx: Transaction) async throws -> UUID? {
        let job = try await jobs.enqueue(NewJob(kind: Self.jobKind, tenantId: tenant,
                                                payload: .object(["run_id": .string(run.uuidString.lowercased())]),
                                                dedupeKey: "\(Self.jobKind):\(run.uuidString.lowercased()):\(batch)"), in: tx)
        return job?.id
    }

    /// One batch of a run (the job's body): a no-op for a finished or unknown run.
    func batch(_ ctx: JobContext, services: AppServices, in tx: Transaction) async throws {
        guard case .object(let payload) = ctx.payload, let text = payload["run_id"]?.stringValue, let runId = UUID(uuidString: text),
              let tenant = ctx.tenant else { return }
        var state: (Int32, Int32, UUID?, UUID?)?
        for try await row in try await tx.query("""
            SELECT batch_size, batches, after_id, requested_by FROM sales_territory_runs WHERE id = \(runId) AND status = 'running' FOR UPDATE
            """).decode((Int32, Int32, UUID?, UUID?).self) { state = row }
        guard let (size, batches, after, requestedBy) = state else { return }
        let metadata = try await TenantMetadata.load(version: 0, in: tx)
        let matcher = try await TerritoryMatcher.load(metadata: metadata, in: tx)
        var q = QueryBuilder()
        let expr = try q.fragment { q in q.append(try matcher.expression(alias: "t", into: &q)) }
        // The window's size and last id, and only the rows that move, grouped by target: a
        // batch with nothing to move returns one row.
        let afterP = try q.bind(after), sizeP = try q.bind(Int64(size))
        q.append("""
            WITH w AS MATERIALIZED (SELECT t.id, t.territory_id AS old, \(expr) AS new FROM customers t
                                    WHERE t.deleted_at IS NULL AND (\(afterP)::uuid IS NULL OR t.id > \(afterP)::uuid)
                                    ORDER BY t.id LIMIT \(sizeP)),
            s AS (SELECT (SELECT count(*) FROM w) AS n, (SELECT id FROM w ORDER BY id DESC LIMIT 1) AS last)
            SELECT s.n, s.last, m.new, m.ids FROM s
            LEFT JOIN (SELECT new, array_agg(id ORDER BY id) AS ids FROM w WHERE old IS DISTINCT FROM new GROUP BY new) m ON true
            """)
        var last: UUID?
        var scanned: Int64 = 0
        var moves: [(UUID?, [UUID])] = []
        for try await (n, end, new, ids) in try await tx.query(q.query).decode((Int64, UUID?, UUID?, [UUID]?).self) {
            scanned = n
            last = end
            if let ids, !ids.isEmpty { moves.append((new, ids)) }
        }
        let now = ctx.clock.now()
        let actor = RecordActor(userId: requestedBy, requestId: nil, origin: Self.origin)
        var moved: Int64 = 0
        for (target, ids) in moves.sorted(by: { ($0.0?.uuidString ?? "") < ($1.0?.uuidString ?? "") }) {
            let write = SystemWrite(object: "customer", table: try SQLIdentifier("customers"),
                                    set: [.init(field: "territory_id", column: "territory_id", .uuid(target))], hooks: services.records.hooks)
            moved += Int64(try await write.run(where: { q in
                q.append("t.id = ANY(\(try q.bind(ids))::uuid[]) AND t.territory_id IS DISTINCT FROM \(try q.bind(target))::uuid")
            }, actor: actor, at: now, in: tx).count)
        }
        let done = scanned < Int64(size)
        try await tx.execute("""
            UPDATE sales_territory_runs SET after_id = coalesce(\(last), after_id), batches = batches + 1, scanned = scanned + \(scanned),
                moved = moved + \(moved), status = \(done ? "done" : "running"), updated_at = \(now),
                finished_at = \(done ? now : nil)
            WHERE id = \(runId)
            """)
        if !done { _ = try await enqueue(run: runId, batch: Int(batches) + 1, tenant: tenant.id, jobs: ctx.queue, in: tx) }
        ctx.logger.info("territory assignment batch", metadata: ["run": "\(runId)", "scanned": "\(scanned)", "moved": "\(moved)"])
    }
}
