import Foundation

/// What the sales module brings: its objects, the counts it keeps on customers, its write hooks,
/// settings and calls.
extension SalesModule {
    public var id: String { Self.id }
    public var name: String { "Sales" }
    public var requires: [String] { [CustomersModule.id] }
    public var migrations: MigrationScope { Self.migrations }
    public var objects: [StandardObject] { [Self.opportunity, Self.order] }
    public var objectExtensions: [ObjectExtension] { [Self.customerExtension] }
    public var ownedTables: [String: String] { Self.ownedTables }

    public func hooks(_ context: ModuleContext) -> [any RecordHook] {
        [OpportunityWriteHook(clock: context.clock, store: PipelineStore(hooks: .none)), OrderWriteHook(clock: context.clock)]
    }

    public var routes: [ModuleRoute] { MoneyRoutes.all + OpportunityRoutes.all + OrderRoutes.all + CollectionRoutes.all }

    public var customerPanels: [CustomerPanel] {
        [CustomerPanel(key: "open_opportunities", object: "opportunity", column: "customer_id", sort: "expected_close_date", limit: 10,
                       filterField: "status", filterValues: ["open"]),
         CustomerPanel(key: "open_orders", object: "order", column: "customer_id", sort: "-order_date", limit: 10,
                       filterField: "status", filterValues: ["draft", "confirmed", "fulfilled"])]
    }

    public var settings: [any ModuleSetting] { [Self.overdueGraceDays] }
    public var jobs: [ModuleJob] { [Self.overdueJob] }

    public var events: [ModuleEvent] {
        [ModuleEvent(name: "opportunity.won", object: "opportunity", origin: "sales.win", description: "An opportunity was won (POST …/win)."),
         ModuleEvent(name: "opportunity.lost", object: "opportunity", origin: "sales.lose", description: "An opportunity was lost (POST …/lose)."),
         ModuleEvent(name: "opportunity.reopened", object: "opportunity", origin: "sales.reopen",
                     description: "A won or lost opportunity was reopened.")]
    }
}
