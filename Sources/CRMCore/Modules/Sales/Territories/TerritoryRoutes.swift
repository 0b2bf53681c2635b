import Foundation

/// The admin calls on territories and their assignment runs (capability `manage_settings`).
enum TerritoryRoutes {
    struct AssignBody: Decodable {
        var dryRun: Bool?
        var batchSize: Int?

        enum CodingKeys: String, CodingKey { case dryRun = "dry_run", batchSize = "batch_size" }
    }

    static func store(_ r: ModuleRequest) -> TerritoryStore { TerritoryStore(hooks: r.services.records.hooks) }

    static func id(_ r: ModuleRequest) throws -> UUID { try r.id(notFound: "No such territory.") }

    static let all: [ModuleRoute] = [
        ModuleRoute(.get, "admin/territories", capability: .manageSettings) { r in
            try .json(Page(data: try await store(r).list(in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.post, "admin/territories", capability: .manageSettings) { r in
            try .json(try await store(r).save(nil, body: try r.decode([String: JSONValue].self), metadata: r.caller.metadata,
                                              now: r.services.clock.now(), in: r.tx), status: 201)
        },
        ModuleRoute(.get, "admin/territories/:id", capability: .manageSettings) { r in
            try .json(try await store(r).one(try id(r), in: r.tx))
        },
        ModuleRoute(.patch, "admin/territories/:id", capability: .manageSettings) { r in
            let id = try id(r)
            return try .json(try await store(r).save(id, body: try r.decode([String: JSONValue].self), metadata: r.caller.metadata,
                                                     now: r.services.clock.now(), in: r.tx))
        },
        ModuleRoute(.delete, "admin/territories/:id", capability: .manageSettings) { r in
            let id = try id(r)
            try await store(r).delete(id, moveTo: r.query("move_to"), caller: r.caller, at: r.services.clock.now(), in: r.tx)
            return .noContent
        },
        ModuleRoute(.put, "admin/territories/:id/members", capability: .manageSettings) { r in
            let id = try id(r)
            let body = try r.decode([String: JSONValue].self)
            return try .json(try await store(r).setMembers(id, body: .object(body), now: r.services.clock.now(), in: r.tx))
        },
        ModuleRoute(.post, "admin/territories/assign", capability: .manageSettings) { r in
            let body = try r.decodeIfPresent(AssignBody.self) ?? AssignBody()
            if let size = body.batchSize, !(1...TerritoryAssignment.batchSize).contains(size) {
                throw CRMError.invalid("batch_size", "out_of_range", "From 1 to \(TerritoryAssignment.batchSize) customers per batch.")
            }
            guard body.dryRun == false else {
                return try .json(try await TerritoryAssignment().preview(metadata: r.caller.metadata, in: r.tx))
            }
            return try .json(try await TerritoryAssignment().start(batchSize: body.batchSize ?? TerritoryAssignment.batchSize, tenant: r.tenant.id,
                                                                   caller: r.caller, jobs: r.services.jobs, now: r.services.clock.now(),
                                                                   in: r.tx), status: 202)
        },
        ModuleRoute(.get, "admin/territories/assign/:id", capability: .manageSettings) { r in
            try .json(try await TerritoryAssignment().run(try r.id(notFound: "No such assignment run."), in: r.tx))
        },
    ]

    /// The assignment's batches (one job each).
    static let job = ModuleJob(kind: TerritoryAssignment.jobKind, cron: nil) { ctx, services, tx in
        try await TerritoryAssignment().batch(ctx, services: services, in: tx)
    }
}
