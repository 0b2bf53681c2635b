import Foundation

/// The opportunity object, and the counts the sales module keeps on customers.
extension SalesModule {
    static let forecastCategories: FieldOptions = .picklist([
        ("pipeline", "Pipeline"), ("best_case", "Best case"), ("commit", "Commit"), ("omitted", "Omitted"), ("closed", "Closed"),
    ])

    public static let opportunity = StandardObject(
        apiName: "opportunity", label: "Opportunity", pluralLabel: "Opportunities", table: "opportunities", module: id, position: 5,
        fields: [
            StandardField("name", "Name", .text, required: true, searchable: true, options: .maxLength(200), position: 1),
            StandardField("customer_id", "Customer", .lookup, required: true, options: .target("customer"), position: 2),
            StandardField("contact_id", "Contact", .lookup, options: .target("contact"), position: 3),
            // Pipelines and stages by their stable keys: readable in filters (?stage=negotiation) and
            // the same in every tenant a blueprint made, where ids would differ.
            StandardField("pipeline", "Pipeline", .text, options: .maxLength(50), position: 4),
            StandardField("stage", "Stage", .text, options: .maxLength(50), position: 5),
            StandardField("amount_minor", "Amount (minor units)", .integer, options: .range(0, 999_999_999_999_999), position: 6),
            StandardField("currency", "Currency", .text, options: .maxLength(3), position: 7),
            StandardField("expected_close_date", "Expected close", .date, position: 8),
            StandardField("probability", "Probability %", .integer, options: .range(0, 100), position: 9),
            StandardField("forecast_category", "Forecast category", .picklist, options: forecastCategories, position: 10),
            StandardField("type", "Type", .picklist, options: .picklist([("new", "New business"), ("upsell", "Upsell"), ("renewal", "Renewal")]),
                          default: .string("new"), position: 11),
            StandardField("source", "Source", .picklist, options: CustomersModule.sources, position: 12),
            StandardField("competitors", "Competitors", .tags, options: .maxLength(100), position: 13),
            StandardField("next_step", "Next step", .text, options: .maxLength(300), position: 14),
            StandardField("lost_reason", "Loss reason", .text, options: .maxLength(500), position: 15),
            StandardField("description", "Description", .longText, position: 16),
            StandardField("status", "Status", .picklist, isSystem: true,
                          options: .picklist([("open", "Open"), ("won", "Won"), ("lost", "Lost")]), position: 17),
            StandardField("fx_rate", "Exchange rate", .decimal, isSystem: true, options: .range(0, 1_000_000_000, precision: 24, scale: 12),
                          position: 18),
            StandardField("amount_base_minor", "Amount in base currency (minor units)", .integer, isSystem: true, position: 19),
            StandardField("stage_entered_at", "In stage since", .datetime, isSystem: true, position: 20),
            StandardField("won_at", "Won at", .datetime, isSystem: true, position: 21),
            StandardField("lost_at", "Lost at", .datetime, isSystem: true, position: 22),
            // The accepted quote (set when a quote is accepted). An id, not a lookup: quotes refer to
            // opportunities, and a reference back would make the two tables depend on each other.
            StandardField("primary_quote_id", "Primary quote", .id, isSystem: true, position: 23),
            // Sales migration "territories": the customer's territory when the deal was created.
            StandardField("territory_id", "Territory", .id, isSystem: true, position: 24),
        ],
        columns: [StandardColumn("lead_id", .uuid)],
        indexes: [
            StandardIndex("opportunities_name_idx", ["name", "id"], where: [.isNull("deleted_at")]),
            StandardIndex("opportunities_customer_idx", ["customer_id", "status"], where: [.isNull("deleted_at")]),
            StandardIndex("opportunities_board_idx", ["pipeline", "stage", "owner_id"], where: [.isNull("deleted_at")]),
            StandardIndex("opportunities_close_idx", ["expected_close_date", "id"], where: [.isNull("deleted_at")]),
            // Sales migration "forecast_quotas_splits": won deals by when they were won (the forecast's closed figure).
            // Sales migration "board_totals": stale deals by stage and age.
            StandardIndex("opportunities_stage_age_idx", ["pipeline", "stage", "stage_entered_at"], where: [.isNull("deleted_at")]),
            StandardIndex("opportunities_won_idx", ["won_at"], where: [.isNotNull("won_at"), .isNull("deleted_at")]),
            // Sales migration "territories": a territory's deals (removal, reports).
            StandardIndex("opportunities_territory_idx", ["territory_id"], where: [.isNotNull("territory_id"), .isNull("deleted_at")]),
        ])

    /// Customers count their open opportunities and remember their last win, for the public
    /// pool's exemptions and `days_without_won_deal` (kept by a trigger in the same transaction).
    public static let customerExtension = ObjectExtension(
        object: "customer",
        columns: [StandardColumn("open_opportunity_count", .bigint, notNull: true, default: .integer(0)),
                  StandardColumn("last_won_at", .timestamptz),
                  // Sales migration "territories": set by the territory assignment (no foreign key:
                  // the declared customer table stays the customers module's own shape).
                  StandardColumn("territory_id", .uuid)],
        indexes: [StandardIndex("customers_territory_idx", ["territory_id"], where: [.isNotNull("territory_id"), .isNull("deleted_at")])])
}
