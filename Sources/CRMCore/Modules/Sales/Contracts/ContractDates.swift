import Foundation
import PostgresNIO

/// The daily contract job (`sales.contract_dates`), in the tenant's time zone:
/// - renewal opportunities: an active contract with `auto_renew` whose notice window has begun
///   (today ≥ end date − notice days, and not yet past its end) gets one opportunity of type
///   `renewal` — same customer, owner, amount and currency, closing on the end date, in the
///   default pipeline's first stage (the opportunity hook's defaults). The contract's
///   `renewal_opportunity_id` (unique) is the link: candidates are read set-based and locked, and
///   a contract that has the link is never picked again, so a second run creates nothing. Each
///   opportunity is made through the records pipeline as the contract's owner (stage history,
///   board totals, customer counts, change events); a contract whose owner can no longer create
///   opportunities is skipped and counted.
/// - expiry, when `sales.contract_auto_expire` is on: active contracts whose end date is before
///   today become `expired`, in one set-based write (history and change events per contract).
struct ContractDates: Sendable {
    let services: AppServices
    static let renewalOrigin = "sales.contract_renewal", expireOrigin = "sales.contract_expire"

    struct Result: Sendable, Equatable {
        var expired = 0
        var renewals = 0
        var skipped = 0
    }

    func run(now: Date, tenant: Tenant, autoExpire: Bool, in tx: Transaction) async throws -> Result {
        let today = SalesInput.day(now, tenant.zone)
        var result = Result()
        var candidates: [(id: UUID, owner: UUID?, customer: UUID, label: String, amount: Int64?, currency: String?, end: String)] = []
        for try await row in try await tx.query("""
            SELECT id, owner_id, customer_id, coalesce(name, number, ''), amount_minor, currency, end_date::text
            FROM sales_contracts
            WHERE deleted_at IS NULL AND status = 'active' AND auto_renew AND renewal_opportunity_id IS NULL AND end_date IS NOT NULL
              AND end_date >= \(today)::date AND end_date - coalesce(notice_days, 0)::int <= \(today)::date
            ORDER BY id FOR UPDATE
            """).decode((UUID, UUID?, UUID, String, Int64?, String?, String).self) {
            candidates.append((row.0, row.1, row.2, row.3, row.4, row.5, row.6))
        }
        var callers: [UUID: RecordCaller?] = [:]
        for c in candidates {
            guard let owner = c.owner else { result.skipped += 1; continue }
            if callers[owner] == nil { callers[owner] = try await caller(owner, tenant: tenant, in: tx) }
            guard let caller = callers[owner] ?? nil, caller.permissions.may(.create, on: "opportunity") else { result.skipped += 1; continue }
            var body: [String: JSONValue] = ["name": .string(String("Renewal: \(c.label)".prefix(200))),
                                             "customer_id": .string(c.customer.uuidString.lowercased()),
                                             "type": .string("renewal"), "expected_close_date": .string(c.end)]
            if let a = c.amount { body["amount_minor"] = .number(Decimal(a)) }
            if let cur = c.currency { body["currency"] = .string(cur) }
            let made: RecordService.Fetched
            do {
                made = try await services.records.create("opportunity", body: body, origin: Self.renewalOrigin, caller: caller, in: tx)
            } catch is CRMError {
                // A refusal of the checks (no pipeline, a disabled currency): nothing was written. A refusal
                // by PostgreSQL leaves the transaction failed, so the job's next statement fails and it retries.
                result.skipped += 1
                continue
            }
            guard case .object(let m)? = JSONValue.parse(made.json), let oppId = m["id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
                continue
            }
            let linked = try await SystemWrite(object: "contract", table: try SQLIdentifier("sales_contracts"),
                                               set: [.init(field: "renewal_opportunity_id", column: "renewal_opportunity_id", .uuid(oppId))],
                                               hooks: services.records.hooks)
                .run(where: { q in q.append("t.id = \(try q.bind(c.id)) AND t.renewal_opportunity_id IS NULL") },
                     actor: .system(Self.renewalOrigin), at: now, in: tx)
            result.renewals += linked.count
        }
        if autoExpire {
            let expired = try await SystemWrite(object: "contract", table: try SQLIdentifier("sales_contracts"),
                                                set: [.init(field: "status", column: "status", .text("expired"))], hooks: services.records.hooks)
                .run(where: { q in q.append("t.status = 'active' AND t.end_date < \(try q.bind(today))::date") },
                     actor: .system(Self.expireOrigin), at: now, in: tx)
            result.expired = expired.count
        }
        return result
    }

    /// The owner as the principal of the opportunity they get; nil when no longer active.
    func caller(_ userId: UUID, tenant: Tenant, in tx: Transaction) async throws -> RecordCaller? {
        guard let principal = try await UserStore().principal(userId: userId, kind: "job", in: tx), principal.user.isActive else { return nil }
        var caller = RecordCaller(principal: principal, permissions: try await services.access.permissions(for: principal, in: tenant, tx: tx),
                                  metadata: try await services.metadata.metadata(for: principal, in: tenant, tx: tx),
                                  meta: RequestMeta(requestId: "job-" + Self.renewalOrigin, clientAddress: "job"))
        caller.zone = tenant.zone
        return caller
    }
}
