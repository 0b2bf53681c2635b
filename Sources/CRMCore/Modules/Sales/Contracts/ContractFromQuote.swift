import Foundation
import PostgresNIO

/// The contract of a quote → order conversion (`POST /quotes/{id}/convert` with
/// `{"contract": {…}}` or `{"with_contract": true}`), in the conversion's transaction: a draft
/// contract for the quote's customer, opportunity, currency and total, with the term and other
/// members the client sent, through the records pipeline (number, base amount, history, change
/// event with origin `sales.convert`); `sales_contracts.quote_id` (unique) makes it one per
/// quote, so converting again finds it. The order's `contract_id` is set to it when the order
/// has none. The quote is only read.
struct ContractFromQuote: Sendable {
    let r: ModuleRequest

    /// Members a client may give the contract; the rest comes from the quote.
    static let members: Set<String> = ["name", "start_date", "end_date", "auto_renew", "notice_days", "description"]

    /// The contract members a convert body asks for; nil when it asks for no contract.
    static func requested(_ body: [String: JSONValue]) throws -> [String: JSONValue]? {
        try BodyMembers.refuseUnknown(body, allowed: ["contract", "with_contract"])
        var out: [String: JSONValue]?
        switch body["with_contract"] {
        case nil, .null?, .bool(false)?: break
        case .bool(true)?: out = [:]
        default: throw CRMError.invalid("with_contract", "not_a_boolean", "true or false.")
        }
        switch body["contract"] {
        case nil, .null?: break
        case .object(let members)?:
            var errors = FieldErrors()
            for key in members.keys.sorted() where !Self.members.contains(key) {
                errors.add("contract.\(key.prefix(40))", "unknown_field", "Not a member here: \(Self.members.sorted().joined(separator: ", ")).")
            }
            try errors.throwIfAny("The contract has unknown members.")
            out = members
        default: throw CRMError.invalid("contract", "not_an_object", "The contract's members, e.g. {\"start_date\": \"2027-01-01\"}.")
        }
        return out
    }

    func attach(quote: UUID, order: UUID, members: [String: JSONValue]) async throws {
        guard r.caller.permissions.may(.create, on: "contract") else {
            throw CRMError.forbidden("Converting with a contract makes a contract: you may not create contracts.")
        }
        var contract: UUID?
        for try await id in try await r.tx.query("SELECT id FROM sales_contracts WHERE quote_id = \(quote) AND deleted_at IS NULL")
            .decode(UUID.self) { contract = id }
        if contract == nil {
            var body: [String: JSONValue] = [:]
            for try await (customer, opportunity, currency, total, number, name) in try await r.tx.query("""
                SELECT customer_id, opportunity_id, currency, coalesce(total_minor, 0), number, name FROM quotes WHERE id = \(quote)
                """).decode((UUID, UUID?, String?, Int64, String?, String?).self) {
                body["customer_id"] = .string(customer.uuidString.lowercased())
                if let opportunity { body["opportunity_id"] = .string(opportunity.uuidString.lowercased()) }
                if let currency { body["currency"] = .string(currency) }
                body["amount_minor"] = .number(Decimal(total))
                body["name"] = .string(String((name ?? "From quote \(number ?? "")").prefix(200)))
            }
            body.merge(members) { _, sent in sent }
            let made = try await prefixed { try await r.services.records.create("contract", body: body, origin: "sales.convert", caller: r.caller, in: r.tx) }
            guard case .object(let m)? = JSONValue.parse(made.json), let id = m["id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
                throw CRMError.conflict("The contract could not be read back.")
            }
            try await r.tx.execute("UPDATE sales_contracts SET quote_id = \(quote) WHERE id = \(id)")
            contract = id
        }
        guard let contract else { return }
        _ = try await SystemWrite(object: "order", table: try SQLIdentifier("sales_orders"),
                                  set: [.init(field: "contract_id", column: "contract_id", .uuid(contract))], hooks: r.services.records.hooks)
            .run(where: { q in q.append("t.id = \(try q.bind(order)) AND t.contract_id IS NULL") }, actor: r.caller.actor("sales.convert"),
                 at: r.services.clock.now(), in: r.tx)
    }

    /// The contract's field errors named under `contract.` (the body member they came from).
    func prefixed<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch var e as CRMError where !e.fieldErrors.isEmpty && e.code == .invalidInput {
            e.fieldErrors = e.fieldErrors.map { FieldError(field: "contract.\($0.field)", code: $0.code, message: $0.message) }
            throw e
        }
    }
}
