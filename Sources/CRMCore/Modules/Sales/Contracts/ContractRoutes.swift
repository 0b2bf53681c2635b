import Foundation

/// The contract calls beyond the records API, and the contract settings.
enum ContractRoutes {
    static func action(_ verb: String, status: Int = 200,
                       _ run: @escaping @Sendable (ContractActions, UUID, [String: JSONValue]) async throws -> RecordService.Fetched) -> ModuleRoute {
        ModuleRoute(.post, "contracts/:id/\(verb)") { r in
            let id = try r.id(notFound: "No such contract.")
            let body = try r.decodeIfPresent([String: JSONValue].self) ?? [:]
            return .record(try await run(ContractActions(r: r), id, body), status: status)
        }
    }

    struct Settings: Codable {
        var contractNumberPattern: String
        var contractAutoExpire: Bool
        enum CodingKeys: String, CodingKey { case contractNumberPattern = "contract_number_pattern", contractAutoExpire = "contract_auto_expire" }
    }

    static func settings(_ r: ModuleRequest) async throws -> ModuleResponse {
        let s = Settings(contractNumberPattern: try await SalesModule.contractNumberPattern.load(in: r.tx),
                         contractAutoExpire: try await SalesModule.contractAutoExpire.load(in: r.tx))
        return .text(String(decoding: try JSONEncoder().encode(s), as: UTF8.self))
    }

    static let all: [ModuleRoute] = [
        action("sign") { a, id, body in
            try BodyMembers.refuseUnknown(body, allowed: [])
            return try await a.sign(id)
        },
        action("terminate") { a, id, body in try await a.terminate(id, body: body) },
        action("renew", status: 201) { a, id, body in try await a.renew(id, body: body) },
        ModuleRoute(.get, "admin/settings/contracts", capability: .manageSettings) { r in try await settings(r) },
        ModuleRoute(.put, "admin/settings/contracts", capability: .manageSettings) { r in
            let body = try r.decode([String: JSONValue].self)
            try BodyMembers.refuseUnknown(body, allowed: ["contract_number_pattern", "contract_auto_expire"])
            if let v = body["contract_number_pattern"] { _ = try await SalesModule.contractNumberPattern.storeJSON(v, in: r.tx) }
            if let v = body["contract_auto_expire"] { _ = try await SalesModule.contractAutoExpire.storeJSON(v, in: r.tx) }
            return try await settings(r)
        },
    ]
}
