import Foundation

/// The sales order: what a customer bought, for how much, and how much of it was collected (回款).
/// Its collection figures are system fields kept from the payment allocations in the same
/// transaction as each allocation (`OrderCollection`).
extension SalesModule {
    static let orderStatuses: FieldOptions = .picklist([
        ("draft", "Draft"), ("confirmed", "Confirmed"), ("fulfilled", "Fulfilled"), ("closed", "Closed"), ("cancelled", "Cancelled"),
    ])
    static let paymentStatuses: FieldOptions = .picklist([
        ("unpaid", "Unpaid"), ("partial", "Partially paid"), ("paid", "Paid"), ("overpaid", "Overpaid"),
    ])

    public static let order = StandardObject(
        apiName: "order", label: "Order", pluralLabel: "Orders", table: "sales_orders", module: id, position: 8,
        fields: [
            StandardField("number", "Number", .text, isSystem: true, searchable: true, options: .maxLength(40), position: 1),
            StandardField("customer_id", "Customer", .lookup, required: true, options: .target("customer"), position: 2),
            StandardField("opportunity_id", "Opportunity", .lookup, options: .target("opportunity"), position: 3),
            StandardField("order_date", "Order date", .date, position: 4),
            StandardField("currency", "Currency", .text, options: .maxLength(3), position: 5),
            StandardField("amount_minor", "Amount (minor units)", .integer, options: .range(0, 999_999_999_999_999), position: 6),
            StandardField("description", "Description", .longText, position: 7),
            StandardField("status", "Status", .picklist, isSystem: true, options: orderStatuses, position: 8),
            StandardField("fx_rate", "Exchange rate", .decimal, isSystem: true, options: .range(0, 1_000_000_000, precision: 24, scale: 12),
                          position: 9),
            StandardField("amount_base_minor", "Amount in base currency (minor units)", .integer, isSystem: true, position: 10),
            StandardField("collected_minor", "Collected (minor units)", .integer, isSystem: true, position: 11),
            StandardField("outstanding_minor", "Outstanding (minor units)", .integer, isSystem: true, position: 12),
            StandardField("payment_status", "Payment status", .picklist, isSystem: true, options: paymentStatuses, position: 13),
            // The contract the order is under (set by quote → order conversion with a contract, or by hand).
            StandardField("contract_id", "Contract", .lookup, options: .target("contract"), position: 14),
        ],
        // The quote it was converted from (quote → order conversion): at most one order per quote.
        columns: [StandardColumn("quote_id", .uuid)],
        indexes: [
            StandardIndex("sales_orders_number_idx", ["number"], unique: true),
            StandardIndex("sales_orders_quote_idx", ["quote_id"], where: [.isNotNull("quote_id")], unique: true),
            StandardIndex("sales_orders_customer_idx", ["customer_id", "status"], where: [.isNull("deleted_at")]),
            StandardIndex("sales_orders_date_idx", ["order_date", "id"], where: [.isNull("deleted_at")]),
        ])
}
