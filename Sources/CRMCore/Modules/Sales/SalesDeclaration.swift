import Foundation

/// What the sales module brings: its objects, the counts it keeps on customers, its write hooks,
/// settings and calls.
extension SalesModule {
    public var id: String { Self.id }
    public var name: String { "Sales" }
    public var requires: [String] { [CustomersModule.id] }
    public var migrations: MigrationScope { Self.migrations }
    public var objects: [StandardObject] { [Self.opportunity, Self.product, Self.quote, Self.contract, Self.order] }
    public var objectExtensions: [ObjectExtension] { [Self.customerExtension] }
    public var ownedTables: [String: String] { Self.ownedTables }

    public func hooks(_ context: ModuleContext) -> [any RecordHook] {
        [OpportunityWriteHook(clock: context.clock, store: PipelineStore(hooks: .none)), QuoteWriteHook(clock: context.clock),
         ProductWriteHook(), OrderWriteHook(clock: context.clock),
         ContractWriteHook(clock: context.clock), OpportunityTerritoryHook(), OpportunityDuplicateHook()]
    }

    public var routes: [ModuleRoute] {
        MoneyRoutes.all + OpportunityRoutes.all + ForecastRoutes.all + PricingRoutes.all + QuoteRoutes.all + OrderRoutes.all
            + CollectionRoutes.all + CommissionRoutes.all
            + ContractRoutes.all + TerritoryRoutes.all + OpportunityDuplicateHook.routes
    }

    /// The month fiscal years start in (quarters count from it).
    public static let fiscalYearStart = Setting<Int>(module: id, name: "fiscal_year_start_month", default: 1) { month in
        guard (1...12).contains(month) else { throw CRMError.invalid("fiscal_year_start_month", "out_of_range", "A month, 1 to 12.") }
    }

    public var settings: [any ModuleSetting] { [Self.fiscalYearStart, Self.quoteNumberPattern, Self.quoteTaxMode, Self.discountLimits,
                                                 Self.overdueGraceDays,
                                                 Self.contractNumberPattern, Self.contractAutoExpire, Self.opportunityDuplicate] }

    public var approvalFollowers: [ApprovalFollower] { [Self.quoteApprovalFollower] }

    public var blueprintSections: [any BlueprintSection] { [SalesSection()] }

    /// The weekly forecast snapshot: Mondays at 03:00 in the tenant's time zone.
    public static let forecastSnapshot = "sales.forecast_snapshot"

    public var jobs: [ModuleJob] {
        [ModuleJob(kind: Self.forecastSnapshot, cron: "0 3 * * 1") { ctx, services, tx in
            let zone = ctx.tenant?.zone ?? .gmt
            let rows = try await Forecast().snapshot(now: ctx.clock.now(), zone: zone, fiscalStartMonth: try await Self.fiscalYearStart.load(in: tx),
                                                     in: tx)
            ctx.logger.info("forecast snapshot", metadata: ["rows": "\(rows)"])
        }, Self.overdueJob,
         Self.quoteExpiryJob, Self.contractDatesJob, TerritoryRoutes.job]
    }

    public var customerPanels: [CustomerPanel] {
        [CustomerPanel(key: "open_opportunities", object: "opportunity", column: "customer_id", sort: "expected_close_date", limit: 10,
                       filterField: "status", filterValues: ["open"]),
         CustomerPanel(key: "open_orders", object: "order", column: "customer_id", sort: "-order_date", limit: 10,
                       filterField: "status", filterValues: ["draft", "confirmed", "fulfilled"]),
         CustomerPanel(key: "open_quotes", object: "quote", column: "customer_id", sort: "-valid_until", limit: 10,
                       filterField: "status", filterValues: ["draft", "pending_approval", "approved", "sent", "accepted"]),
         Self.activeContractsPanel]
    }

    public var events: [ModuleEvent] {
        [ModuleEvent(name: "opportunity.won", object: "opportunity", origin: "sales.win", description: "An opportunity was won (POST …/win)."),
         ModuleEvent(name: "opportunity.lost", object: "opportunity", origin: "sales.lose", description: "An opportunity was lost (POST …/lose)."),
         ModuleEvent(name: "opportunity.reopened", object: "opportunity", origin: "sales.reopen",
                     description: "A won or lost opportunity was reopened."),
         ModuleEvent(name: "contract.signed", object: "contract", origin: ContractActions.signOrigin, description: "A contract was signed (POST …/sign)."),
         ModuleEvent(name: "contract.terminated", object: "contract", origin: ContractActions.terminateOrigin,
                     description: "An active contract was terminated (POST …/terminate)."),
         ModuleEvent(name: "contract.renewed", object: "contract", origin: ContractActions.renewedOrigin,
                     description: "A contract became renewed: its successor (POST …/renew) was signed.")]
    }
}
