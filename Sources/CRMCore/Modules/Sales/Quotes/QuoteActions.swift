import Foundation
import PostgresNIO

/// A quote's status calls: `draft → pending_approval → approved → sent → accepted | declined`,
/// `cancelled` before acceptance, `revise` and `copy`. The discount guard (spec §2.4 rule 4):
/// a quote whose largest line discount is above the caller's limit (`sales.discount_limits`)
/// is sent or accepted only once approved through the built-in process `sales.quote_discount`
/// (409 `approval-required` until then). The approvals engine decides the request; the quote
/// follows it at its next call (`sync`), and its approval is voided by any priced change
/// (`QuoteWriteHook`, the approval guard).
struct QuoteActions: Sendable {
    static let builtin = "sales.quote_discount"
    let r: ModuleRequest

    static func notEditable(_ status: String) -> CRMError {
        var e = CRMError(CRMError.Code("quote-not-editable"), "A \(status.replacingOccurrences(of: "_", with: " ")) quote's prices cannot change; revise it.",
                         fieldErrors: [FieldError(field: "status", code: "not_editable", message: "The quote is \(status).")])
        e.extensions["status"] = .string(status)
        return e
    }

    static func transition(_ status: String, _ action: String) -> CRMError {
        var e = CRMError(CRMError.Code("invalid-transition"), "A \(status.replacingOccurrences(of: "_", with: " ")) quote cannot be \(action).",
                         fieldErrors: [FieldError(field: "status", code: "invalid_transition", message: "The quote is \(status).")])
        e.extensions["status"] = .string(status)
        return e
    }

    struct Quote {
        var status: String
        var maxDiscount: Decimal
        var lineCount: Int
        var opportunity: UUID?
        var validUntil: String?
    }

    /// The quote as the caller may read it (404 otherwise), its row locked.
    func load(_ id: UUID) async throws -> Quote {
        _ = try await r.services.records.get("quote", id: id, caller: r.caller, in: r.tx)
        for try await (status, max, count, opportunity, validUntil) in try await r.tx.query("""
            SELECT coalesce(q.status, 'draft'), coalesce(q.max_discount_pct, 0)::text,
                   (SELECT count(*) FROM quote_lines l WHERE l.quote_id = q.id), q.opportunity_id, q.valid_until::text
            FROM quotes q WHERE q.id = \(id) AND q.deleted_at IS NULL FOR UPDATE
            """).decode((String, String, Int64, UUID?, String?).self) {
            return Quote(status: status, maxDiscount: Decimal(string: max, locale: Locale(identifier: "en_US_POSIX")) ?? 0, lineCount: Int(count),
                         opportunity: opportunity, validUntil: validUntil)
        }
        throw CRMError.notFound("No such quote.")
    }

    /// Sets the status through the records pipeline (history, change event, version, hooks).
    @discardableResult
    func set(_ id: UUID, _ status: String, origin: String) async throws -> RecordService.Fetched {
        try await r.services.records.update("quote", id: id, body: [:], ifMatch: nil, origin: origin,
                                            system: [SystemWrite.Assignment(field: "status", column: "status", .text(status))],
                                            caller: r.caller, in: r.tx)
    }

    /// Brings a quote waiting for approval in line with its request: approved → `approved`;
    /// rejected, recalled or cancelled → `draft`.
    func sync(_ id: UUID) async throws -> Quote {
        var q = try await load(id)
        guard q.status == "pending_approval", let request = try await ApprovalStore().latestRequest(object: "quote", record: id, in: r.tx),
              request.status != "pending" else { return q }
        q.status = request.status == "approved" ? "approved" : "draft"
        try await set(id, q.status, origin: "sales.quote_approval")
        return q
    }

    /// Whether the caller's discount limit is below the quote's largest line discount.
    func needsApproval(_ q: Quote) async throws -> Bool {
        guard let limit = try await DiscountLimit.of(r.caller, in: r.tx) else { return false }
        return q.maxDiscount > limit
    }

    /// 409 `approval-required` unless the quote is approved (or the caller may give its discount).
    func requireApproval(_ q: Quote, _ action: String) async throws {
        guard ["draft", "pending_approval"].contains(q.status) else { return }
        if q.status == "draft", !(try await needsApproval(q)) { return }
        var e = CRMError(CRMError.Code("approval-required"),
                         "A \(SalesInput.text(q.maxDiscount)) % discount is above your limit: submit the quote and have it approved before it is \(action).",
                         fieldErrors: [FieldError(field: "status", code: "approval_required", message: "The quote is \(q.status).")])
        e.extensions["status"] = .string(q.status)
        throw e
    }

    /// For the orders module's `convert` (same transaction): the quote, locked and in line with its
    /// approval; 409 `approval-required` while its discount needs an approval it does not have
    /// (an approved quote needs no second one). Returns its status for the caller's own rules.
    func requireConvertible(_ id: UUID) async throws -> String {
        let q = try await sync(id)
        try await requireApproval(q, "converted")
        return q.status
    }

    func submit(_ id: UUID, comment: String?) async throws -> RecordService.Fetched {
        let q = try await sync(id)
        guard q.status == "draft" else { throw Self.transition(q.status, "submitted") }
        guard q.lineCount > 0 else { throw CRMError.invalid("lines", "required", "A quote without lines cannot be submitted (PUT …/lines).") }
        // Within the caller's limit: approved at once ("approved is skipped when no rule matches").
        guard try await needsApproval(q) else { return try await set(id, "approved", origin: "sales.quote_submit") }
        let fetched = try await set(id, "pending_approval", origin: "sales.quote_submit")
        guard let process = try await ApprovalStore().process(builtin: Self.builtin, in: r.tx) else {
            throw CRMError(CRMError.Code("no-approval-process"), "The built-in quote discount process is missing (sales migration 2 makes it).")
        }
        _ = try await ApprovalEngine().submit(object: "quote", record: id, process: process.id, comment: comment, caller: r.caller,
                                              records: r.services.records, context: ApprovalRequests.context(r), in: r.tx)
        return fetched
    }

    /// 409 `quote-expired` once the quote's `valid_until` is past (today in the tenant's time zone),
    /// even before the daily job marks it `expired`.
    func requireValid(_ q: Quote, _ action: String) throws {
        guard let until = q.validUntil, until < SalesInput.day(r.services.clock.now(), r.caller.zone) else { return }
        throw CRMError(CRMError.Code("quote-expired", status: 409), "The quote was valid until \(until): it can no longer be \(action); revise or copy it.",
                       fieldErrors: [FieldError(field: "valid_until", code: "expired", message: "Valid until \(until).")])
    }

    func send(_ id: UUID) async throws -> RecordService.Fetched {
        let q = try await sync(id)
        try requireValid(q, "sent")
        try await requireApproval(q, "sent")
        guard ["draft", "approved"].contains(q.status) else { throw Self.transition(q.status, "sent") }
        guard q.lineCount > 0 else { throw CRMError.invalid("lines", "required", "A quote without lines cannot be sent (PUT …/lines).") }
        return try await set(id, "sent", origin: "sales.quote_send")
    }

    func accept(_ id: UUID) async throws -> RecordService.Fetched {
        let q = try await sync(id)
        try requireValid(q, "accepted")
        try await requireApproval(q, "accepted")
        guard q.status == "sent" else { throw Self.transition(q.status, "accepted") }
        if let opportunity = q.opportunity {
            // At most one accepted quote per opportunity: the opportunity row serializes acceptances.
            try await r.tx.execute("SELECT 1 FROM opportunities WHERE id = \(opportunity) FOR UPDATE")
            for try await other in try await r.tx.query("""
                SELECT number FROM quotes WHERE opportunity_id = \(opportunity) AND status = 'accepted' AND id <> \(id) AND deleted_at IS NULL LIMIT 1
                """).decode(String.self) {
                var e = CRMError(CRMError.Code("already-accepted"), "Quote \(other) of this opportunity is already accepted.",
                                 fieldErrors: [FieldError(field: "opportunity_id", code: "already_accepted", message: "One accepted quote per opportunity.")])
                e.extensions["accepted_number"] = .string(other)
                throw e
            }
        }
        let accepted = try await set(id, "accepted", origin: "sales.quote_accept")
        if let opportunity = q.opportunity {
            // The accepted quote becomes the opportunity's primary quote (history and change event on the opportunity).
            _ = try await SystemWrite(object: "opportunity", table: try SQLIdentifier("opportunities"),
                                      set: [.init(field: "primary_quote_id", column: "primary_quote_id", .uuid(id))], hooks: r.services.records.hooks)
                .run(where: { q in q.append("t.id = \(try q.bind(opportunity))") }, actor: r.caller.actor("sales.quote_accept"),
                     at: r.services.clock.now(), in: r.tx)
        }
        return accepted
    }

    func decline(_ id: UUID) async throws -> RecordService.Fetched {
        let q = try await sync(id)
        guard q.status == "sent" else { throw Self.transition(q.status, "declined") }
        return try await set(id, "declined", origin: "sales.quote_decline")
    }

    func cancel(_ id: UUID) async throws -> RecordService.Fetched {
        let q = try await sync(id)
        guard ["draft", "approved", "sent"].contains(q.status) else {
            throw Self.transition(q.status, q.status == "pending_approval" ? "cancelled while it waits for approval (recall it first)" : "cancelled")
        }
        return try await set(id, "cancelled", origin: "sales.quote_cancel")
    }

    /// A new quote from `source`: its fields and lines (a snapshot of the snapshot), as a draft
    /// that is not approved. `revise` makes revision n+1 (same number, `-Rn`) of an approved or
    /// sent quote and cancels the old one; `copy` takes a new number.
    func duplicate(_ source: UUID, revise: Bool) async throws -> RecordService.Fetched {
        let q = try await sync(source)
        if revise && !["approved", "sent"].contains(q.status) { throw Self.transition(q.status, "revised") }
        let record = try await r.services.records.get("quote", id: source, caller: r.caller, in: r.tx)
        guard case .object(let fields)? = JSONValue.parse(record.json) else { throw CRMError.conflict("The quote could not be read.") }
        var body: [String: JSONValue] = [:]
        for key in ["name", "customer_id", "contact_id", "opportunity_id", "price_book_id", "currency", "tax_mode", "valid_until", "terms"] {
            if let v = fields[key], v != .null { body[key] = v }
        }
        let options = revise ? [QuoteWriteHook.revisionOf: source.uuidString.lowercased()] : [QuoteWriteHook.copiedFrom: source.uuidString.lowercased()]
        let made = try await r.services.records.create("quote", body: body, options: options, origin: revise ? "sales.quote_revise" : "sales.quote_copy",
                                                       caller: r.caller, in: r.tx)
        guard case .object(let m)? = JSONValue.parse(made.json), let newId = m["id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
            throw CRMError.conflict("The new quote could not be read.")
        }
        try await r.tx.execute("""
            INSERT INTO quote_lines (id, quote_id, position, product_id, sku, name, unit, list_price_minor, cost_minor, tax_rate,
                unit_price_minor, discount_pct, qty, line_total_minor, line_discount_minor, line_tax_minor, price_source)
            SELECT gen_random_uuid(), \(newId), position, product_id, sku, name, unit, list_price_minor, cost_minor, tax_rate,
                unit_price_minor, discount_pct, qty, line_total_minor, line_discount_minor, line_tax_minor, price_source
            FROM quote_lines WHERE quote_id = \(source)
            """)
        let priced = try await r.services.records.update("quote", id: newId, body: [:], ifMatch: nil, origin: "sales.quote_lines",
                                                         caller: r.caller, in: r.tx)
        if revise { try await set(source, "cancelled", origin: "sales.quote_revise") }
        return priced
    }
}
