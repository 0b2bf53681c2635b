import Foundation

/// The quote object. Its number, revision, status and every figure are system fields: the
/// server sets them (`QuoteWriteHook`) from the quote's lines (`quote_lines`, replaced whole
/// through PUT /quotes/{id}/lines) with `PriceMath`, and clients' totals are refused like any
/// system field. `lines_digest` fingerprints the priced lines, so the discount approval can
/// watch "the lines" as one field.
extension SalesModule {
    static let quoteStatuses: [(String, String)] = [
        ("draft", "Draft"), ("pending_approval", "Pending approval"), ("approved", "Approved"), ("sent", "Sent"),
        ("accepted", "Accepted"), ("declined", "Declined"), ("expired", "Expired"), ("cancelled", "Cancelled"),
    ]
    static let taxModes: [(String, String)] = [
        ("per_line_exclusive", "Per line, prices exclude tax"), ("per_line_inclusive", "Per line, prices include tax"),
        ("per_document_exclusive", "Per document, prices exclude tax"), ("per_document_inclusive", "Per document, prices include tax"),
    ]

    public static let quote = StandardObject(
        apiName: "quote", label: "Quote", pluralLabel: "Quotes", table: "quotes", module: id, position: 7,
        fields: [
            StandardField("number", "Number", .text, isSystem: true, unique: true, searchable: true, options: .maxLength(60), position: 1),
            StandardField("revision", "Revision", .integer, isSystem: true, position: 2),
            StandardField("name", "Title", .text, searchable: true, options: .maxLength(200), position: 3),
            StandardField("customer_id", "Customer", .lookup, required: true, options: .target("customer"), position: 4),
            StandardField("contact_id", "Contact", .lookup, options: .target("contact"), position: 5),
            StandardField("opportunity_id", "Opportunity", .lookup, options: .target("opportunity"), position: 6),
            StandardField("price_book_id", "Price book", .text, options: .maxLength(36), position: 7),
            StandardField("currency", "Currency", .text, options: .maxLength(3), position: 8),
            StandardField("tax_mode", "Tax mode", .picklist, options: .picklist(taxModes), position: 9),
            StandardField("valid_until", "Valid until", .date, position: 10),
            StandardField("terms", "Terms", .longText, position: 11),
            StandardField("status", "Status", .picklist, isSystem: true, options: .picklist(quoteStatuses), position: 12),
            StandardField("subtotal_minor", "Subtotal (minor units)", .integer, isSystem: true, position: 13),
            StandardField("discount_minor", "Discount (minor units)", .integer, isSystem: true, position: 14),
            StandardField("tax_minor", "Tax (minor units)", .integer, isSystem: true, position: 15),
            StandardField("total_minor", "Total (minor units)", .integer, isSystem: true, position: 16),
            StandardField("cost_total_minor", "Cost (minor units)", .integer, isSystem: true, position: 17),
            StandardField("margin_minor", "Margin (minor units)", .integer, isSystem: true, position: 18),
            StandardField("fx_rate", "Exchange rate", .decimal, isSystem: true, options: .range(0, 1_000_000_000, precision: 24, scale: 12),
                          position: 19),
            StandardField("amount_base_minor", "Total in base currency (minor units)", .integer, isSystem: true, position: 20),
            StandardField("max_discount_pct", "Largest line discount %", .decimal, isSystem: true,
                          options: .range(0, 100, precision: 7, scale: 4), position: 21),
            StandardField("lines_digest", "Lines fingerprint", .text, isSystem: true, options: .maxLength(64), position: 22),
            StandardField("revision_of", "Revision of", .lookup, isSystem: true, options: .target("quote"), position: 23),
            StandardField("copied_from", "Copied from", .lookup, isSystem: true, options: .target("quote"), position: 24),
        ],
        indexes: [
            StandardIndex("quotes_customer_idx", ["customer_id", "status"], where: [.isNull("deleted_at")]),
            StandardIndex("quotes_opportunity_idx", ["opportunity_id"], where: [.isNull("deleted_at")]),
        ])
}
