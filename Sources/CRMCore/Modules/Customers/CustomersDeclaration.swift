import Foundation

/// What the customers module brings, beyond its tables: the 360° view.
extension CustomersModule {
    public var id: String { Self.id }
    public var name: String { "Customers" }
    public var alwaysOn: Bool { true }
    public var migrations: MigrationScope { Self.migrations }
    public var objects: [StandardObject] { [Self.customer, Self.contact, Self.interaction] }
    public var ownedTables: [String: String] { Self.ownedTables }

    public var customerPanels: [CustomerPanel] {
        [CustomerPanel(key: "contacts", object: "contact", column: "customer_id", sort: "name", limit: 20),
         CustomerPanel(key: "interactions", object: "interaction", column: "customer_id", sort: "-occurred_at", limit: 10)]
    }

    public var routes: [ModuleRoute] {
        [ModuleRoute(.get, "customers/:id/overview") { r in
            let id = try r.id()
            return .text(try await CustomerOverview(records: r.services.records, panels: r.services.registry.customerPanels)
                .overview(id, caller: r.caller, in: r.tx))
        }]
    }
}
