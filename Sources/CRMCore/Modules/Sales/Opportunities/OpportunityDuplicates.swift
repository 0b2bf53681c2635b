import Foundation
import PostgresNIO

/// 撞单: two reps working the same deal. Creating an opportunity for a customer that already has
/// an open one in the same pipeline owned by someone else warns (the default: 201 with
/// `duplicate_warnings`, the shape the leads module answers with) or blocks (409
/// `duplicate-opportunity` naming the existing deals and owners), per the setting
/// `opportunity_duplicate` (`off|warn|block`). Deals of the same owner never count. Changing an
/// open deal's customer, pipeline or owner is checked the same way.
///
/// Concurrency: the check takes a transaction-scoped advisory lock on (tenant schema, customer,
/// pipeline) first, so two creates for one customer and pipeline run one after the other and the
/// second sees the first's committed row. A partial unique index cannot say "another owner" (a rep
/// may hold two deals of one customer), would not fit `warn`, and the opportunity table's shape
/// belongs to its declaration.
extension SalesModule {
    public static let opportunityDuplicate = Setting<String>(module: id, name: "opportunity_duplicate", default: "warn") { mode in
        guard ["off", "warn", "block"].contains(mode) else {
            throw CRMError.invalid("opportunity_duplicate", "not_in_picklist", "One of off, warn, block.")
        }
    }
}

struct OpportunityDuplicateHook: RecordHook {
    let object = "opportunity"
    static let problem = CRMError.Code("duplicate-opportunity", status: 409)

    var contract: WriteContract {
        WriteContract(annotations: ["duplicate_warnings": ("After a create: open opportunities of the same customer and pipeline owned by others",
                                                          ["object", "id", "name", "owner_id", "field", "match", "action"])])
    }

    struct Match: Codable, Sendable {
        var object = "opportunity"
        var id: String
        /// Withheld ("(a record you cannot see)") outside the caller's read scope; id and owner
        /// are shown, so the reps can talk.
        var name: String
        var ownerId: String?
        var field = "customer_id"
        var match = "open_in_pipeline"
        var action: String
    }

    func beforeSave(_ w: RecordWrite, in tx: Transaction) async throws -> [String: JSONValue] {
        // A create, or a change of an open deal's customer, pipeline or owner (moving a deal is
        // no way around the rule).
        let creating = w.event == .created
        if !creating {
            guard ["customer_id", "pipeline", "owner_id"].contains(where: w.changes) else { return [:] }
            var open = false
            for try await status in try await tx.query("SELECT status FROM opportunities WHERE id = \(w.id)").decode(String?.self) {
                open = status == "open"
            }
            guard open else { return [:] }
        }
        guard let text = w.text("customer_id"), let customer = UUID(uuidString: text) else { return [:] }
        let mode = try await SalesModule.opportunityDuplicate.load(in: tx)
        guard mode != "off" else { return [:] }
        // The pipeline the write will have: sent or stored, else the default one (as the write hook derives it).
        var pipeline = w.text("pipeline")
        if pipeline == nil {
            for try await key in try await tx.query("SELECT key FROM pipelines WHERE is_default LIMIT 1").decode(String.self) { pipeline = key }
        }
        guard let pipeline else { return [:] }
        let owner = w.text("owner_id").flatMap(UUID.init(uuidString:)) ?? w.caller.userId
        try await tx.execute("""
            SELECT pg_advisory_xact_lock(hashtext('crm.opportunity.' || current_schema()), hashtext(\(customer.uuidString.lowercased()) || '/' || \(pipeline)))
            """)
        var matches: [Match] = []
        for try await (id, name, ownerId) in try await tx.query("""
            SELECT id, name, owner_id FROM opportunities
            WHERE customer_id = \(customer) AND pipeline = \(pipeline) AND status = 'open' AND deleted_at IS NULL
              AND owner_id IS DISTINCT FROM \(owner) AND id <> \(w.id)
            ORDER BY created_at, id LIMIT 20
            """).decode((UUID, String?, UUID?).self) {
            let visible = w.caller.permissions.reaches(.read, on: "opportunity", ownedBy: ownerId)
            matches.append(Match(id: id.uuidString.lowercased(), name: visible ? name ?? "" : "(a record you cannot see)",
                                 ownerId: ownerId?.uuidString.lowercased(), action: mode))
        }
        guard !matches.isEmpty else { return [:] }
        let list = try JSONValue.encoding(matches.map(Encoded.init))
        if mode == "block" {
            var error = CRMError(Self.problem, "This customer already has an open opportunity in the pipeline '\(pipeline)' owned by another rep (撞单).",
                                 fieldErrors: [FieldError(field: "customer_id", code: "duplicate_opportunity",
                                                          message: "Another rep's open opportunity in this pipeline.")])
            error.extensions["duplicates"] = list
            throw error
        }
        return ["duplicate_warnings": list]
    }

    /// A match with snake_case keys (record answers are not run through the API's key encoder).
    struct Encoded: Encodable {
        let m: Match
        init(_ m: Match) { self.m = m }
        enum Keys: String, CodingKey { case object, id, name, owner_id, field, match, action }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(m.object, forKey: .object)
            try c.encode(m.id, forKey: .id)
            try c.encode(m.name, forKey: .name)
            try c.encode(m.ownerId, forKey: .owner_id)
            try c.encode(m.field, forKey: .field)
            try c.encode(m.match, forKey: .match)
            try c.encode(m.action, forKey: .action)
        }
    }

    /// `GET/PUT /admin/settings/opportunity-duplicates {"opportunity_duplicate": "off|warn|block"}`.
    static let routes: [ModuleRoute] = [
        ModuleRoute(.get, "admin/settings/opportunity-duplicates", capability: .manageSettings) { r in
            try .json(["opportunity_duplicate": try await SalesModule.opportunityDuplicate.load(in: r.tx)])
        },
        ModuleRoute(.put, "admin/settings/opportunity-duplicates", capability: .manageSettings) { r in
            let body = try r.decode([String: JSONValue].self)
            try BodyMembers.refuseUnknown(body, allowed: ["opportunity_duplicate"])
            if let v = body["opportunity_duplicate"] { _ = try await SalesModule.opportunityDuplicate.storeJSON(v, in: r.tx) }
            return try .json(["opportunity_duplicate": try await SalesModule.opportunityDuplicate.load(in: r.tx)])
        },
    ]
}
