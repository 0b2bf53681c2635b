import CRMCore
import Foundation
import Hummingbird
import NIOCore

/// The leads module's calls beyond the records API: the duplicate check on demand, the public
/// pool (list, claim, release, reclaim now) and the module's settings. All answer
/// `module-disabled` while the module is off.
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
        enum CodingKeys: String, CodingKey { case customerId = "customer_id", createContact = "create_contact" }
    }

    static func register(on authed: RouterGroup<AppRequestContext>, services: AppServices) {
        let limit = services.config.maxBodyBytes
        authed.post("leads/duplicates") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(LeadsModule.id)
            guard caller.permissions.may(.create, on: "lead") else { throw CRMError.forbidden("The check is for those who create leads.") }
            _ = try caller.readable("lead")
            let body = try await JSONBody.decode(CheckBody.self, from: request, limit: limit)
            let matches = try await services.leads.duplicates.find(phone: body.phone, email: body.email, company: body.company,
                                                                   caller: caller, now: services.clock.now(), in: tx)
            return try JSONOut.response(Page(data: matches, nextCursor: nil))
        }
        authed.get("pool") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(LeadsModule.id)
            let params = request.uri.queryParameters
            let limit = Int(params.get("limit") ?? "50") ?? -1
            guard (1...200).contains(limit) else { throw CRMError.invalid("limit", "out_of_range", "limit is 1 to 200.") }
            var after: UUID?
            if let cursor = params.get("cursor") {
                guard let id = UUID(uuidString: cursor) else { throw CRMError.invalid("cursor", "invalid_format", "Not a cursor from this list.") }
                after = id
            }
            // Pool customers have no owner, so no owner scope reaches them: anyone who may read customers sees the pool.
            let page = try await services.leads.pool.list(limit: limit, after: after, caller: caller, in: tx)
            let next = page.last.map { "\"\($0.uuidString.lowercased())\"" } ?? "null"
            return RecordRoutes.json("{\"data\": \(page.json), \"next_cursor\": \(next)}")
        }
        authed.post("pool/:id/claim") { _, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(LeadsModule.id)
            let id = try RecordRoutes.recordId(context, "customer")
            try await services.leads.pool.claim(id, caller: caller, in: tx)
            let record = try await services.records.get("customer", id: id, caller: caller, in: tx)
            return RecordRoutes.json(record.json, version: record.version)
        }
        authed.post("pool/:id/release") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(LeadsModule.id)
            let id = try RecordRoutes.recordId(context, "customer")
            let body = try await JSONBody.decodeIfPresent(ReleaseBody.self, from: request, limit: limit) ?? ReleaseBody(reason: nil)
            if let reason = body.reason, reason.count > 500 { throw CRMError.invalid("reason", "too_long", "At most 500 characters.") }
            try await services.leads.pool.release(id, reason: body.reason, caller: caller, in: tx)
            return Response(status: .noContent)
        }
        authed.post("leads/:id/convert") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(LeadsModule.id)
            let id = try RecordRoutes.recordId(context, "lead")
            let body = try await JSONBody.decodeIfPresent(ConvertBody.self, from: request, limit: limit) ?? ConvertBody()
            let done = try await services.leads.convert(id, customerId: body.customerId, createContact: body.createContact ?? true,
                                                        caller: caller, in: tx)
            return RecordRoutes.json("{\"lead\": \(done.lead.json), \"customer\": \(done.customer.json), \"contact\": \(done.contact?.json ?? "null")}")
        }
        authed.post("registrations") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(LeadsModule.id)
            let input = try await JSONBody.decode(Registrations.Input.self, from: request, limit: limit)
            return try JSONOut.response(try await services.leads.registrations.register(input, caller: caller, in: tx), status: .created)
        }
        authed.get("registrations") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(LeadsModule.id)
            let list = try await services.leads.registrations.list(status: request.uri.queryParameters.get("status"), caller: caller, in: tx)
            return try JSONOut.response(Page(data: list, nextCursor: nil))
        }
        for (verb, approve) in [("approve", true), ("reject", false)] {
            authed.post("registrations/:id/\(verb)") { _, context -> Response in
                let (caller, tx) = try await context.recordCaller(services)
                try caller.requireModule(LeadsModule.id)
                guard let id = UUID(uuidString: try context.parameters.require("id")) else { throw CRMError.notFound("No such registration.") }
                return try JSONOut.response(try await services.leads.registrations.decide(id, approve: approve, caller: caller, in: tx))
            }
        }
        let settings = authed.group("admin/settings")
        settings.get("duplicate-rules") { _, context -> Response in
            _ = try context.require(.manageSettings)
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(LeadsModule.id)
            return try JSONOut.response(RulesBody(rules: try await services.leads.duplicates.rules(in: tx)))
        }
        settings.put("duplicate-rules") { request, context -> Response in
            _ = try context.require(.manageSettings)
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(LeadsModule.id)
            let body = try await JSONBody.decode(RulesBody.self, from: request, limit: limit)
            try await services.leads.duplicates.setRules(body.rules, in: tx)
            return try JSONOut.response(body)
        }
        settings.get("pool-rules") { _, context -> Response in
            _ = try context.require(.manageSettings)
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(LeadsModule.id)
            return try JSONOut.response(try await PoolRules.load(in: tx))
        }
        settings.put("pool-rules") { request, context -> Response in
            _ = try context.require(.manageSettings)
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(LeadsModule.id)
            let rules = try await JSONBody.decode(PoolRules.self, from: request, limit: limit)
            try await rules.save(in: tx)
            return try JSONOut.response(rules)
        }
    }
}
