import Foundation

/// The leads module's calls beyond the records API: the duplicate check on demand, the public
/// pool (list, claim, release), conversion, registrations and the module's settings.
enum LeadRoutes {
    struct CheckBody: Decodable {
        var phone: String?
        var email: String?
        var company: String?
    }

    struct ReleaseBody: Decodable { var reason: String? }

    struct RulesBody: Codable { var rules: [DuplicateRule] }

    struct ConvertBody: Decodable {
        var customerId: UUID?
        var createContact: Bool?
        var opportunity: [String: JSONValue]?
        enum CodingKeys: String, CodingKey { case customerId = "customer_id", createContact = "create_contact", opportunity }
    }

    static let all: [ModuleRoute] = [
        ModuleRoute(.post, "leads/duplicates") { r in
            guard r.caller.permissions.may(.create, on: "lead") else { throw CRMError.forbidden("The check is for those who create leads.") }
            _ = try r.caller.readable("lead")
            let body = try r.decode(CheckBody.self)
            let matches = try await r.services.leads.duplicates.find(phone: body.phone, email: body.email, company: body.company,
                                                                     caller: r.caller, now: r.services.clock.now(), in: r.tx)
            return try .json(Page(data: matches, nextCursor: nil))
        },
        ModuleRoute(.get, "pool") { r in
            let limit = Int(r.query("limit") ?? "50") ?? -1
            guard (1...200).contains(limit) else { throw CRMError.invalid("limit", "out_of_range", "limit is 1 to 200.") }
            var after: UUID?
            if let cursor = r.query("cursor") {
                guard let id = UUID(uuidString: cursor) else { throw CRMError.invalid("cursor", "invalid_format", "Not a cursor from this list.") }
                after = id
            }
            // Pool customers have no owner, so no owner scope reaches them: anyone who may read customers sees the pool.
            let page = try await r.services.leads.pool.list(limit: limit, after: after, caller: r.caller, in: r.tx)
            let next = page.last.map { "\"\($0.uuidString.lowercased())\"" } ?? "null"
            return .text("{\"data\": \(page.json), \"next_cursor\": \(next)}")
        },
        ModuleRoute(.post, "pool/:id/claim") { r in
            let id = try r.id()
            try await r.services.leads.pool.claim(id, caller: r.caller, in: r.tx)
            return .record(try await r.services.records.get("customer", id: id, caller: r.caller, in: r.tx))
        },
        ModuleRoute(.post, "pool/:id/release") { r in
            let id = try r.id()
            let body = try r.decodeIfPresent(ReleaseBody.self) ?? ReleaseBody(reason: nil)
            if let reason = body.reason, reason.count > 500 { throw CRMError.invalid("reason", "too_long", "At most 500 characters.") }
            try await r.services.leads.pool.release(id, reason: body.reason, caller: r.caller, in: r.tx)
            return .noContent
        },
        ModuleRoute(.post, "leads/:id/convert") { r in
            let id = try r.id()
            let body = try r.decodeIfPresent(ConvertBody.self) ?? ConvertBody()
            let done = try await r.services.leads.convert(id, customerId: body.customerId, createContact: body.createContact ?? true,
                                                          opportunity: body.opportunity, caller: r.caller, in: r.tx)
            return .text("{\"lead\": \(done.lead.json), \"customer\": \(done.customer.json), \"contact\": \(done.contact?.json ?? "null"), "
                         + "\"opportunity\": \(done.opportunity?.json ?? "null")}")
        },
        ModuleRoute(.post, "registrations") { r in
            let input = try r.decode(Registrations.Input.self)
            return try .json(try await r.services.leads.registrations.register(input, caller: r.caller, zone: r.tenant.zone, in: r.tx), status: 201)
        },
        ModuleRoute(.get, "registrations") { r in
            let list = try await r.services.leads.registrations.list(status: r.query("status"), caller: r.caller, in: r.tx)
            return try .json(Page(data: list, nextCursor: nil))
        },
        ModuleRoute(.post, "registrations/:id/approve") { r in
            let id = try r.id(notFound: "No such registration.")
            return try .json(try await r.services.leads.registrations.decide(id, approve: true, caller: r.caller, zone: r.tenant.zone, in: r.tx))
        },
        ModuleRoute(.post, "registrations/:id/reject") { r in
            let id = try r.id(notFound: "No such registration.")
            return try .json(try await r.services.leads.registrations.decide(id, approve: false, caller: r.caller, zone: r.tenant.zone, in: r.tx))
        },
        ModuleRoute(.get, "admin/settings/duplicate-rules", capability: .manageSettings) { r in
            try .json(RulesBody(rules: try await LeadsModule.duplicateRules.load(in: r.tx)))
        },
        ModuleRoute(.put, "admin/settings/duplicate-rules", capability: .manageSettings) { r in
            let body = try r.decode(RulesBody.self)
            try await LeadsModule.duplicateRules.save(body.rules, in: r.tx)
            return try .json(body)
        },
        ModuleRoute(.get, "admin/settings/pool-rules", capability: .manageSettings) { r in
            try .json(try await LeadsModule.poolRules.load(in: r.tx))
        },
        ModuleRoute(.put, "admin/settings/pool-rules", capability: .manageSettings) { r in
            let rules = try r.decode(PoolRules.self)
            try await LeadsModule.poolRules.save(rules, in: r.tx)
            return try .json(rules)
        },
    ]
}
