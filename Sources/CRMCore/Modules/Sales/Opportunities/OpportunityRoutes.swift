import Foundation

/// The sales module's calls on pipelines and opportunities beyond the records API.
enum OpportunityRoutes {
    struct StagesBody: Decodable {
        var stages: [PipelineInput.StageInput]?
        var map: [String: String]?
    }

    struct LoseBody: Decodable {
        var reason: String?
        var stage: String?
    }

    static func store(_ r: ModuleRequest) -> PipelineStore { PipelineStore(hooks: r.services.records.hooks) }

    static func key(_ r: ModuleRequest) throws -> String {
        guard let key = r.parameters["key"], key.range(of: Pipeline.keyPattern, options: .regularExpression) != nil else {
            throw CRMError.notFound("No such pipeline.")
        }
        return key
    }

    /// A stage move through the records pipeline: `fields` and the stage in one write.
    static func move(_ r: ModuleRequest, id: UUID, stage: String, fields: [String: JSONValue], origin: String) async throws -> ModuleResponse {
        var body = fields
        body["stage"] = .string(stage)
        return .record(try await r.services.records.update("opportunity", id: id, body: body, ifMatch: nil, origin: origin,
                                                          caller: r.caller, in: r.tx))
    }

    /// The pipeline of a record the caller may read.
    static func pipelineOf(_ r: ModuleRequest, _ id: UUID) async throws -> (Pipeline, [String: JSONValue]) {
        let record = try await r.services.records.get("opportunity", id: id, caller: r.caller, in: r.tx)
        guard case .object(let fields)? = JSONValue.parse(record.json), let key = fields["pipeline"]?.stringValue else {
            throw CRMError.conflict("The opportunity could not be read.")
        }
        return (try await store(r).one(key, in: r.tx), fields)
    }

    static let all: [ModuleRoute] = [
        ModuleRoute(.get, "pipelines") { r in
            _ = try r.caller.readable("opportunity")
            return try .json(Page(data: try await store(r).load(in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.post, "admin/pipelines", capability: .manageSettings) { r in
            let input = try r.decode(PipelineInput.self)
            return try .json(try await store(r).create(input, metadata: r.caller.metadata, in: r.tx), status: 201)
        },
        ModuleRoute(.patch, "admin/pipelines/:key", capability: .manageSettings) { r in
            let key = try key(r)
            return try .json(try await store(r).update(key, try r.decode(PipelineInput.self), in: r.tx))
        },
        ModuleRoute(.put, "admin/pipelines/:key/stages", capability: .manageSettings) { r in
            let key = try key(r)
            let body = try r.decode(StagesBody.self)
            guard (body.map?.count ?? 0) <= 100 else { throw CRMError.invalid("map", "too_many", "At most 100 entries.") }
            return try .json(try await store(r).restage(key, body.stages, map: body.map ?? [:], metadata: r.caller.metadata, caller: r.caller,
                                                        at: r.services.clock.now(), in: r.tx))
        },
        ModuleRoute(.delete, "admin/pipelines/:key", capability: .manageSettings) { r in
            let key = try key(r)
            try await store(r).delete(key, moveTo: r.query("move_to"), caller: r.caller, at: r.services.clock.now(), in: r.tx)
            return .noContent
        },
        ModuleRoute(.get, "opportunities/board") { r in
            let pipelines = try await store(r).load(in: r.tx)
            _ = try r.caller.readable("opportunity")
            let pipeline: Pipeline
            if let key = r.query("pipeline") {
                guard let p = pipelines.first(where: { $0.key == key }) else {
                    throw CRMError.invalid("pipeline", "unknown_pipeline", "No pipeline '\(key.prefix(50))'.")
                }
                pipeline = p
            } else {
                guard let p = pipelines.first(where: \.isDefault) ?? pipelines.first else { throw CRMError.notFound("No pipeline yet.") }
                pipeline = p
            }
            return try .json(try await OpportunityBoard().board(pipeline, caller: r.caller, now: r.services.clock.now(), in: r.tx))
        },
        ModuleRoute(.get, "opportunities/:id/transitions") { r in
            let id = try r.id(notFound: "No such opportunity.")
            let list = try await OpportunityBoard().transitions(id, pipelines: store(r), caller: r.caller, services: r.services, in: r.tx)
            return try .json(Page(data: list, nextCursor: nil))
        },
        ModuleRoute(.get, "opportunities/:id/stage-history") { r in
            let id = try r.id(notFound: "No such opportunity.")
            _ = try await r.services.records.get("opportunity", id: id, caller: r.caller, in: r.tx)
            return try .json(Page(data: try await OpportunityStageHistory().list(id, now: r.services.clock.now(), in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.post, "opportunities/:id/stage") { r in
            let id = try r.id(notFound: "No such opportunity.")
            var body = try r.decode([String: JSONValue].self)
            guard case .string(let stage)? = body.removeValue(forKey: "stage") else {
                throw CRMError.invalid("stage", "required", "The key of the stage to enter.")
            }
            return try await move(r, id: id, stage: stage, fields: body, origin: "sales.stage")
        },
        ModuleRoute(.post, "opportunities/:id/win") { r in
            let id = try r.id(notFound: "No such opportunity.")
            let body = try r.decodeIfPresent([String: JSONValue].self) ?? [:]
            let (pipeline, _) = try await pipelineOf(r, id)
            guard let won = pipeline.stages.first(where: { $0.category == .won }) else { throw CRMError.conflict("The pipeline has no won stage.") }
            return try await move(r, id: id, stage: won.key, fields: body, origin: "sales.win")
        },
        ModuleRoute(.post, "opportunities/:id/lose") { r in
            let id = try r.id(notFound: "No such opportunity.")
            let body = try r.decode(LoseBody.self)
            guard let reason = body.reason?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty else {
                throw CRMError.invalid("reason", "required", "Why the deal was lost.")
            }
            let (pipeline, _) = try await pipelineOf(r, id)
            let lost = body.stage.flatMap(pipeline.stage) ?? pipeline.stages.first { $0.category == .lost }
            guard let lost, lost.category == .lost else { throw CRMError.invalid("stage", "not_lost_stage", "A lost stage of the pipeline.") }
            return try await move(r, id: id, stage: lost.key, fields: ["lost_reason": .string(reason)], origin: "sales.lose")
        },
        ModuleRoute(.post, "opportunities/:id/reopen") { r in
            let id = try r.id(notFound: "No such opportunity.")
            let body = try r.decodeIfPresent(LoseBody.self)
            let (pipeline, fields) = try await pipelineOf(r, id)
            guard fields["status"]?.stringValue != "open" else { throw CRMError.conflict("The opportunity is open.") }
            let target = body?.stage.flatMap(pipeline.stage) ?? pipeline.firstOpen
            guard let target, target.category == .open else { throw CRMError.invalid("stage", "not_open_stage", "An open stage of the pipeline.") }
            return try await move(r, id: id, stage: target.key, fields: [:], origin: "sales.reopen")
        },
    ]
}
