import Foundation

/// The product object: what quotes and orders sell, with its list price and cost (for margins)
/// in one currency, and its tax rate in percent.
extension SalesModule {
    public static let product = StandardObject(
        apiName: "product", label: "Product", pluralLabel: "Products", table: "products", module: id, position: 6,
        fields: [
            StandardField("sku", "SKU", .text, required: true, unique: true, searchable: true, options: .maxLength(64), position: 1),
            StandardField("name", "Name", .text, required: true, searchable: true, options: .maxLength(200), position: 2),
            StandardField("unit", "Unit", .text, options: .maxLength(20), position: 3),
            StandardField("list_price_minor", "List price (minor units)", .integer, options: .range(0, 999_999_999_999_999), position: 4),
            StandardField("currency", "Currency", .text, options: .maxLength(3), position: 5),
            StandardField("cost_minor", "Cost (minor units)", .integer, options: .range(0, 999_999_999_999_999), position: 6),
            StandardField("tax_rate", "Tax rate %", .decimal, options: .range(0, 100, precision: 7, scale: 4), position: 7),
            StandardField("kind", "Kind", .picklist,
                          options: .picklist([("goods", "Goods"), ("service", "Service"), ("subscription", "Subscription")]),
                          default: .string("goods"), position: 8),
            StandardField("active", "Active", .boolean, default: .bool(true), position: 9),
            StandardField("category", "Category", .text, options: .maxLength(100), position: 10),
            StandardField("description", "Description", .longText, position: 11),
        ],
        indexes: [
            StandardIndex("products_name_idx", ["name", "id"], where: [.isNull("deleted_at")]),
        ])
}
