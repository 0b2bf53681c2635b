import Foundation

/// What the workflow module brings: its rule engine on record change events, its settings and
/// its calls (rules under `admin/workflow-rules`, the run log under `admin/workflow-runs`, the
/// manual start under `records/{object}/{id}/actions/{rule_id}`).
extension WorkflowModule {
    public var id: String { Self.id }
    public var name: String { "Workflow" }
    public var requires: [String] { [CustomersModule.id] }
    public var migrations: MigrationScope { Self.migrations }

    /// How many rule runs may lead to one another before a chain stops (`depth_limited`).
    public static let maxDepth = Setting<Int>(module: id, name: "max_depth", default: 5) { depth in
        guard (1...10).contains(depth) else { throw CRMError.invalid("max_depth", "out_of_range", "From 1 to 10.") }
    }

    /// Active rules per object (Salesforce's limit is 50 too).
    public static let maxActiveRulesPerObject = 50

    public var settings: [any ModuleSetting] { [Self.maxDepth] }

    /// Time triggers that are due, and a page of each due schedule occurrence, every minute.
    public static let timeTriggers = "workflow.time_triggers"

    public var jobs: [ModuleJob] {
        [ModuleJob(kind: Self.timeTriggers, cron: "* * * * *") { ctx, services, tx in
            guard let tenant = ctx.tenant else { return }
            let engine = RuleEngine()
            _ = try await engine.fireDue(context: EventContext(services: services, tenant: tenant, now: ctx.clock.now()), in: tx)
            let tick = try await engine.fireSchedules(context: EventContext(services: services, tenant: tenant, now: ctx.clock.now()), in: tx)
            // A schedule with more records than a page goes on in another job at once, committed
            // with this page (the key names the page, so a tick run twice asks for one).
            if tick.more {
                try await ctx.queue.enqueue(NewJob(kind: Self.timeTriggers, tenantId: tenant.id,
                                                   dedupeKey: "\(Self.timeTriggers):\(tenant.id.uuidString.lowercased()):\(tick.resumeKey)"), in: tx)
            }
        }]
    }

    public var eventConsumers: [any ChangeEventConsumer] { [RuleEngine()] }

    public var routes: [ModuleRoute] {
        let rules = WorkflowRules()
        return [
            ModuleRoute(.get, "admin/workflow-rules", capability: .manageSettings) { r in
                .text(try await rules.list(object: r.query("object"), caller: r.caller, in: r.tx))
            },
            ModuleRoute(.post, "admin/workflow-rules", capability: .manageSettings) { r in
                .text(try await rules.create(try r.decode([String: JSONValue].self), caller: r.caller, now: r.services.clock.now(), in: r.tx),
                      status: 201)
            },
            ModuleRoute(.get, "admin/workflow-rules/:id", capability: .manageSettings) { r in
                .text(try await rules.show(try r.id(notFound: WorkflowRules.noRule), caller: r.caller, in: r.tx))
            },
            ModuleRoute(.patch, "admin/workflow-rules/:id", capability: .manageSettings) { r in
                .text(try await rules.edit(try r.id(notFound: WorkflowRules.noRule), try r.decode([String: JSONValue].self), caller: r.caller,
                                           now: r.services.clock.now(), in: r.tx))
            },
            ModuleRoute(.delete, "admin/workflow-rules/:id", capability: .manageSettings) { r in
                try await rules.delete(try r.id(notFound: WorkflowRules.noRule), in: r.tx)
                return .noContent
            },
            ModuleRoute(.post, "admin/workflow-rules/:id/publish", capability: .manageSettings) { r in
                .text(try await rules.publish(try r.id(notFound: WorkflowRules.noRule), caller: r.caller, now: r.services.clock.now(), in: r.tx))
            },
            ModuleRoute(.post, "admin/workflow-rules/:id/deactivate", capability: .manageSettings) { r in
                .text(try await rules.deactivate(try r.id(notFound: WorkflowRules.noRule), caller: r.caller, now: r.services.clock.now(), in: r.tx))
            },
            ModuleRoute(.post, "admin/workflow-rules/:id/test", capability: .manageSettings) { r in
                .text(try await rules.test(try r.id(notFound: WorkflowRules.noRule), try r.decode([String: JSONValue].self), request: r))
            },
            ModuleRoute(.get, "admin/workflow-runs", capability: .manageSettings) { r in
                .text(try await rules.runs(query: r, in: r.tx))
            },
            ModuleRoute(.get, "admin/workflow-runs/:id", capability: .manageSettings) { r in
                .text(try await rules.run(try r.id(notFound: WorkflowRules.noRun), in: r.tx))
            },
            ModuleRoute(.post, "admin/workflow-runs/:id/retry", capability: .manageSettings) { r in
                .text(try await rules.retry(try r.id(notFound: WorkflowRules.noRun), request: r))
            },
            ModuleRoute(.post, "records/:object/:id/actions/:rule_id") { r in
                .text(try await rules.start(object: r.parameters["object"] ?? "", record: try r.id(),
                                            rule: try r.id("rule_id", notFound: WorkflowRules.noRule), request: r))
            },
        ]
    }
}
