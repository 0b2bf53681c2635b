import Foundation

/// What the leads module brings, beyond its tables: the duplicate check in every lead write, its
/// settings, the daily reclaim into the public pool, and the calls of the check, the pool,
/// conversion, registrations and its settings.
extension LeadsModule {
    public var id: String { Self.id }
    public var name: String { "Leads and public pool" }
    public var requires: [String] { [CustomersModule.id] }
    public var migrations: MigrationScope { Self.migrations }
    public var objects: [StandardObject] { [Self.lead] }
    public var objectExtensions: [ObjectExtension] { [Self.customerExtension] }
    public var ownedTables: [String: String] { Self.ownedTables }

    /// The module's settings, typed.
    public static let duplicateRules = Setting<[DuplicateRule]>(module: id, name: "duplicate_rules", default: DuplicateRule.defaults,
                                                                validate: DuplicateCheck.validate)
    public static let poolRules = Setting<PoolRules>(module: id, name: "pool_rules", default: PoolRules()) { try $0.validate() }
    public static let registrationDays = Setting<Int>(module: id, name: "registration_days", default: Registrations.defaultDays) { days in
        guard (1...3650).contains(days) else { throw CRMError.invalid("registration_days", "out_of_range", "Between 1 and 3650 days.") }
    }

    public var settings: [any ModuleSetting] { [Self.duplicateRules, Self.poolRules, Self.registrationDays] }

    /// Reclaims stale customers into the pool, daily at 02:00 in the tenant's time zone.
    public static let poolReclaim = "leads.pool_reclaim"

    public var jobs: [ModuleJob] {
        [ModuleJob(kind: Self.poolReclaim, cron: "0 2 * * *") { ctx, services, tx in
            let report = try await services.leads.pool.reclaim(now: ctx.clock.now(), in: tx)
            ctx.logger.info("pool reclaim", metadata: ["reclaimed": "\(report.reclaimed)", "warned": "\(report.warned)"])
        }]
    }

    public func hooks(_ context: ModuleContext) -> [any RecordHook] { [LeadWriteHook(clock: context.clock)] }

    public var routes: [ModuleRoute] { LeadRoutes.all }

    public var events: [ModuleEvent] {
        [ModuleEvent(name: "lead.converted", object: "lead", origin: LeadWriteHook.conversion,
                     description: "A lead was converted (its status set to converted, with the customer and contact it made)."),
         ModuleEvent(name: "pool.claimed", object: "customer", origin: "pool.claim", description: "A rep claimed the customer from the public pool."),
         ModuleEvent(name: "pool.released", object: "customer", origin: "pool.release", description: "The customer was released to the public pool."),
         ModuleEvent(name: "pool.reclaimed", object: "customer", origin: "pool.reclaim",
                     description: "The daily job moved the customer to the public pool (no interaction for the rule's days).")]
    }
}

extension AppServices {
    /// The leads module's services (plain values over the shared ones; cheap to make).
    public var leads: LeadService { LeadService(records: records, clock: clock) }
}
