import Foundation
import PostgresNIO

/// A contract's status calls: `draft → active` (sign), `active → terminated` (terminate),
/// `active | expired →` a successor draft (renew); the daily job turns `active → expired`.
/// Every change goes through the records pipeline (history, change event, version), with its own
/// origin so workflow sees `contract.signed`, `contract.terminated` and `contract.renewed`.
///
/// Approval: a contract has no approval of its own. One made from a quote carries that quote's
/// discount approval: signing checks the quote as converting does (409 `approval-required` while
/// the quote waits for, or lost, the approval its discount needs), so one approval covers the deal
/// and a priced change of the quote after it (which voids the approval) stops the signature too.
///
/// Renewal: the successor is a draft linked both ways at once (`renewal_id`, `renewed_from_id`);
/// the old contract stays active (or expired) until the successor is signed, then becomes
/// `renewed` in the same transaction. A contract is renewed at most once.
struct ContractActions: Sendable {
    let r: ModuleRequest

    static let signOrigin = "sales.contract_sign", terminateOrigin = "sales.contract_terminate"
    static let renewOrigin = "sales.contract_renew", renewedOrigin = "sales.contract_renewed"

    struct Contract {
        var status: String
        var quote: UUID?
        var startDate: String?
        var endDate: String?
        var termMonths: Int64?
        var renewal: UUID?
        var renewedFrom: UUID?
    }

    static func transition(_ status: String, _ action: String) -> CRMError {
        var e = CRMError(CRMError.Code("invalid-transition"), "A \(status) contract cannot be \(action).",
                         fieldErrors: [FieldError(field: "status", code: "invalid_transition", message: "The contract is \(status).")])
        e.extensions["status"] = .string(status)
        return e
    }

    /// The contract as the caller may read it (404 otherwise) and change it (403), its row locked.
    func load(_ id: UUID) async throws -> Contract {
        _ = try await r.services.records.get("contract", id: id, caller: r.caller, in: r.tx)
        guard r.caller.permissions.may(.update, on: "contract") else { throw CRMError.forbidden("Changing contracts needs contract.update.") }
        for try await row in try await r.tx.query("""
            SELECT coalesce(status, 'draft'), quote_id, start_date::text, end_date::text, term_months, renewal_id, renewed_from_id
            FROM sales_contracts WHERE id = \(id) AND deleted_at IS NULL FOR UPDATE
            """).decode((String, UUID?, String?, String?, Int64?, UUID?, UUID?).self) {
            return Contract(status: row.0, quote: row.1, startDate: row.2, endDate: row.3, termMonths: row.4, renewal: row.5, renewedFrom: row.6)
        }
        throw CRMError.notFound("No such contract.")
    }

    func set(_ id: UUID, _ assignments: [SystemWrite.Assignment], origin: String) async throws -> RecordService.Fetched {
        try await r.services.records.update("contract", id: id, body: [:], ifMatch: nil, origin: origin, system: assignments,
                                            caller: r.caller, in: r.tx)
    }

    func sign(_ id: UUID) async throws -> RecordService.Fetched {
        let c = try await load(id)
        guard c.status == "draft" else { throw Self.transition(c.status, "signed") }
        guard c.startDate != nil else { throw CRMError.invalid("start_date", "required", "A contract is signed with its start date.") }
        if let quote = c.quote { _ = try await QuoteActions(r: r).requireConvertible(quote) }
        let now = r.services.clock.now()
        let signed = try await set(id, [.init(field: "status", column: "status", .text("active")),
                                        .init(field: "signed_at", column: "signed_at", .date(now)),
                                        .init(field: "signed_by", column: "signed_by", .uuid(r.caller.userId))], origin: Self.signOrigin)
        if let old = c.renewedFrom {
            _ = try await SystemWrite(object: "contract", table: try SQLIdentifier("sales_contracts"),
                                      set: [.init(field: "status", column: "status", .text("renewed"))], hooks: r.services.records.hooks)
                .run(where: { q in q.append("t.id = \(try q.bind(old)) AND t.status IN ('active', 'expired')") },
                     actor: r.caller.actor(Self.renewedOrigin), at: now, in: r.tx)
        }
        return signed
    }

    func terminate(_ id: UUID, body: [String: JSONValue]) async throws -> RecordService.Fetched {
        try BodyMembers.refuseUnknown(body, allowed: ["reason", "on"])
        var errors = FieldErrors()
        let reason = BodyMembers.text(body["reason"], "reason", max: 500, required: true, errors: &errors)
        let on = Self.day(body["on"], "on", errors: &errors)
        try errors.throwIfAny()
        let c = try await load(id)
        guard c.status == "active" else { throw Self.transition(c.status, "terminated") }
        let now = r.services.clock.now()
        // Without `on`: today, or the start day of a contract that has not started yet.
        let today = SalesInput.day(now, r.caller.zone)
        let day = on ?? max(today, c.startDate ?? today)
        if let start = c.startDate, day < start {
            throw CRMError.invalid("on", "before_start", "The contract starts on \(start); it cannot end before.")
        }
        // The effective day is a date column: the hook writes it from this option (typed like any field).
        return try await r.services.records.update(
            "contract", id: id, body: [:], ifMatch: nil, options: [ContractWriteHook.terminatedOn: day], origin: Self.terminateOrigin,
            system: [.init(field: "status", column: "status", .text("terminated")),
                     .init(field: "terminated_at", column: "terminated_at", .date(now)),
                     .init(field: "termination_reason", column: "termination_reason", .text(reason))],
            caller: r.caller, in: r.tx)
    }

    /// A calendar day that exists (`2027-02-30` does not), as `YYYY-MM-DD`.
    static func day(_ value: JSONValue?, _ path: String, errors: inout FieldErrors) -> String? {
        guard let s = SalesInput.date(value, path, errors: &errors) else { return nil }
        guard ContractTerm.date(s).map(ContractTerm.text) == s else {
            errors.add(path, "invalid_date", "No such day: \(s).")
            return nil
        }
        return s
    }

    func renew(_ id: UUID, body: [String: JSONValue]) async throws -> RecordService.Fetched {
        try BodyMembers.refuseUnknown(body, allowed: ["start_date", "term_months"])
        var errors = FieldErrors()
        let start = Self.day(body["start_date"], "start_date", errors: &errors)
        var term: Int?
        if let t = body["term_months"], t != .null {
            if case .number(let n) = t, n == n.rounded0, n >= 1, n <= 1200 { term = NSDecimalNumber(decimal: n).intValue } else {
                errors.add("term_months", "out_of_range", "A whole number of months from 1 to 1200.")
            }
        }
        try errors.throwIfAny()
        guard r.caller.permissions.may(.create, on: "contract") else { throw CRMError.forbidden("Renewing makes a contract: you may not create contracts.") }
        let c = try await load(id)
        guard ["active", "expired"].contains(c.status) else { throw Self.transition(c.status, "renewed") }
        if let renewal = c.renewal {
            var e = CRMError(CRMError.Code("already-renewed", status: 409), "The contract was already renewed.",
                             fieldErrors: [FieldError(field: "renewal_id", code: "already_renewed", message: "One renewal per contract.")])
            e.extensions["renewal_id"] = .string(renewal.uuidString.lowercased())
            throw e
        }
        guard let newStart = start ?? c.endDate.flatMap(ContractTerm.dayAfter) else {
            throw CRMError.invalid("start_date", "required", "The contract has no end date: say when the renewal starts.")
        }
        let months = term ?? c.termMonths.map(Int.init) ?? 0
        guard months > 0, let newEnd = ContractTerm.end(start: newStart, months: months) else {
            throw CRMError.invalid("term_months", "required", "The contract has no term in months: say how long the renewal runs.")
        }
        let old = try await r.services.records.get("contract", id: id, caller: r.caller, in: r.tx)
        guard case .object(let fields)? = JSONValue.parse(old.json) else { throw CRMError.conflict("The contract could not be read.") }
        var copy: [String: JSONValue] = ["start_date": .string(newStart), "end_date": .string(newEnd)]
        for key in ["name", "customer_id", "opportunity_id", "auto_renew", "notice_days", "currency", "amount_minor", "description"] {
            if let v = fields[key], v != .null { copy[key] = v }
        }
        let made = try await r.services.records.create("contract", body: copy, options: [ContractWriteHook.renewalOf: id.uuidString.lowercased()],
                                                       origin: Self.renewOrigin, caller: r.caller, in: r.tx)
        guard case .object(let m)? = JSONValue.parse(made.json), let newId = m["id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
            throw CRMError.conflict("The renewal could not be read back.")
        }
        _ = try await SystemWrite(object: "contract", table: try SQLIdentifier("sales_contracts"),
                                  set: [.init(field: "renewal_id", column: "renewal_id", .uuid(newId))], hooks: r.services.records.hooks)
            .run(where: { q in q.append("t.id = \(try q.bind(id))") }, actor: r.caller.actor(Self.renewOrigin), at: r.services.clock.now(), in: r.tx)
        return made
    }
}
