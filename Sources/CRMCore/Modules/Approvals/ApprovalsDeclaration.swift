import Foundation

/// What the approvals module brings: the guard on record writes (locks and voids), the
/// time-out job, and its calls (processes under `admin/approval-processes`, requests under
/// `approvals` with reassign and add-approver, a record's state under `records/{object}/{id}/approval`, delegation under
/// `me/delegation`).
extension ApprovalsModule {
    public var id: String { Self.id }
    public var name: String { "Approvals" }
    public var alwaysOn: Bool { true }
    public var migrations: MigrationScope { Self.migrations }
    public var settings: [any ModuleSetting] { [Self.businessCalendar] }

    /// Pending tasks past their time-out, every five minutes; scheduled for a tenant when it
    /// publishes a process with a time-out.
    public static let timeoutsJob = "approvals.timeouts"
    public static let timeoutsCron = "*/5 * * * *"

    public var jobs: [ModuleJob] {
        [ModuleJob(kind: Self.timeoutsJob, cron: nil) { ctx, services, tx in
            guard let tenant = ctx.tenant else { return }
            _ = try await Self.runTimeouts(tenant: tenant, now: ctx.clock.now(), in: tx)
        }]
    }

    /// Acts on the tenant's overdue tasks (the job's work; tests call it with their clock).
    public static func runTimeouts(tenant: Tenant, now: Date, in tx: Transaction) async throws -> Int {
        let metadata = try await TenantMetadata.load(version: 0, in: tx)
        let context = ApprovalEngine.Context(now: now, zone: tenant.zone, metadata: metadata, actor: nil)
        return try await ApprovalEngine().timeouts(context: context, in: tx)
    }

    public func hooks(_ context: ModuleContext) -> [any RecordHook] { [ApprovalGuard(clock: context.clock)] }

    public var routes: [ModuleRoute] {
        let processes = ApprovalProcesses()
        let requests = ApprovalRequests()
        return [
            ModuleRoute(.get, "admin/settings/business-calendar", capability: .manageSettings) { r in
                try .json(try await Self.businessCalendar.load(in: r.tx))
            },
            ModuleRoute(.put, "admin/settings/business-calendar", capability: .manageSettings) { r in
                let calendar = try r.decode(BusinessCalendar.self)
                try await Self.businessCalendar.save(calendar, in: r.tx)
                return try .json(calendar)
            },
            ModuleRoute(.get, "admin/approval-processes", capability: .manageSettings) { r in
                .text(try await processes.list(object: r.query("object"), in: r.tx))
            },
            ModuleRoute(.post, "admin/approval-processes", capability: .manageSettings) { r in
                .text(try await processes.create(try r.decode([String: JSONValue].self), caller: r.caller, now: r.services.clock.now(), in: r.tx),
                      status: 201)
            },
            ModuleRoute(.get, "admin/approval-processes/:id", capability: .manageSettings) { r in
                .text(try await processes.show(try r.id(notFound: ApprovalProcesses.noProcess), in: r.tx))
            },
            ModuleRoute(.patch, "admin/approval-processes/:id", capability: .manageSettings) { r in
                .text(try await processes.edit(try r.id(notFound: ApprovalProcesses.noProcess), try r.decode([String: JSONValue].self),
                                               caller: r.caller, now: r.services.clock.now(), in: r.tx))
            },
            ModuleRoute(.post, "admin/approval-processes/:id/publish", capability: .manageSettings) { r in
                let (json, needsTimeouts) = try await processes.publish(try r.id(notFound: ApprovalProcesses.noProcess), caller: r.caller,
                                                                         now: r.services.clock.now(), in: r.tx)
                if needsTimeouts {
                    // The schedule is the platform's row; making it twice changes nothing.
                    try await r.services.jobSchedules.schedule(kind: Self.timeoutsJob, tenantId: r.tenant.id, cron: Self.timeoutsCron)
                }
                return .text(json)
            },
            ModuleRoute(.post, "admin/approval-processes/:id/test", capability: .manageSettings) { r in
                .text(try await processes.test(try r.id(notFound: ApprovalProcesses.noProcess), try r.decode([String: JSONValue].self),
                                               caller: r.caller, records: r.services.records, now: r.services.clock.now(), in: r.tx))
            },
            ModuleRoute(.post, "approvals") { r in .text(try await requests.submit(r), status: 201) },
            ModuleRoute(.get, "approvals/inbox") { r in .text(try await requests.inbox(r)) },
            ModuleRoute(.post, "approvals/batch") { r in .text(try await requests.batch(r)) },
            ModuleRoute(.get, "approvals/:id") { r in
                .text(try await requests.show(try r.id(notFound: ApprovalEngine.noRequest), caller: r.caller, in: r.tx))
            },
            ModuleRoute(.post, "approvals/:id/approve") { r in .text(try await requests.decide(.approve, r)) },
            ModuleRoute(.post, "approvals/:id/reject") { r in .text(try await requests.decide(.reject, r)) },
            ModuleRoute(.post, "approvals/:id/reassign") { r in .text(try await requests.reassign(r)) },
            ModuleRoute(.post, "approvals/:id/add-approver") { r in .text(try await requests.addApprover(r)) },
            ModuleRoute(.post, "approvals/:id/recall") { r in .text(try await requests.recall(r)) },
            ModuleRoute(.post, "approvals/:id/cancel", capability: .manageSettings) { r in .text(try await requests.cancel(r)) },
            ModuleRoute(.get, "records/:object/:id/approval") { r in .text(try await requests.recordApproval(r)) },
            ModuleRoute(.get, "me/delegation") { r in .text(try await requests.delegation(r)) },
            ModuleRoute(.put, "me/delegation") { r in .text(try await requests.setDelegation(r)) },
            ModuleRoute(.delete, "me/delegation") { r in
                try await requests.clearDelegation(r)
                return .noContent
            },
        ]
    }
}

extension ApprovalsModule {
    /// `approvals.processes` in a tenant blueprint.
    public var blueprintSections: [any BlueprintSection] { [ApprovalProcessesSection()] }
}
