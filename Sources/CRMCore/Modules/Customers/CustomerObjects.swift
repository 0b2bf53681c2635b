import Foundation

/// The customers module's standard objects: customer, contact and interaction.
extension CustomersModule {
    static let sources: FieldOptions = .picklist([
        ("referral", "Referral"), ("website", "Website"), ("exhibition", "Exhibition"), ("cold_call", "Cold call"),
        ("advertising", "Advertising"), ("other", "Other"),
    ])

    public static let customer = StandardObject(
        apiName: "customer", label: "Customer", pluralLabel: "Customers", table: "customers", module: id, position: 1,
        fields: [
            StandardField("name", "Name", .text, required: true, searchable: true, options: .maxLength(200), position: 1),
            StandardField("kind", "Kind", .picklist, required: true, options: .picklist([("company", "Company"), ("person", "Person")]),
                          default: .string("company"), position: 2),
            StandardField("industry", "Industry", .picklist, options: .picklist([
                ("manufacturing", "Manufacturing"), ("retail", "Retail"), ("trading", "Trading"), ("services", "Services"),
                ("technology", "Technology"), ("other", "Other"),
            ]), position: 3),
            StandardField("source", "Source", .picklist, options: sources, position: 4),
            StandardField("level", "Level", .picklist, options: .picklist([("vip", "VIP"), ("important", "Important"), ("normal", "Normal")]),
                          position: 5),
            StandardField("phone", "Phone", .phone, searchable: true, position: 6),
            StandardField("email", "Email", .email, searchable: true, position: 7),
            StandardField("website", "Website", .url, position: 8),
            StandardField("address", "Address", .text, options: .maxLength(500), position: 9),
            StandardField("last_contacted_at", "Last contacted", .datetime, isSystem: true, position: 10),
            StandardField("tags", "Tags", .tags, options: .maxLength(50), position: 11),
        ],
        indexes: [
            StandardIndex("customers_name_idx", ["name", "id"], where: [.isNull("deleted_at")]),
            StandardIndex("customers_last_contacted_idx", ["last_contacted_at"], where: [.isNull("deleted_at")]),
            StandardIndex("customers_name_trgm", ["name"], using: .trigram),
            StandardIndex("customers_phone_trgm", ["phone"], using: .trigram),
            StandardIndex("customers_email_trgm", ["email"], using: .trigram),
            // Untagged customers stay out, so the pool reclaim's updates do not write it for them.
            StandardIndex("customers_tags_idx", ["tags"], using: .gin, where: [.isNotNull("tags"), .isNull("deleted_at")]),
        ])

    public static let contact = StandardObject(
        apiName: "contact", label: "Contact", pluralLabel: "Contacts", table: "contacts", module: id, position: 2,
        fields: [
            StandardField("customer_id", "Customer", .lookup, required: true, options: .target("customer"), position: 1),
            StandardField("name", "Name", .text, required: true, searchable: true, options: .maxLength(200), position: 2),
            StandardField("title", "Title", .text, options: .maxLength(100), position: 3),
            StandardField("phone", "Phone", .phone, searchable: true, position: 4),
            StandardField("email", "Email", .email, searchable: true, position: 5),
            StandardField("notes", "Notes", .longText, position: 6),
        ],
        indexes: [
            StandardIndex("contacts_customer_idx", ["customer_id"]),
            StandardIndex("contacts_name_idx", ["name", "id"], where: [.isNull("deleted_at")]),
            StandardIndex("contacts_name_trgm", ["name"], using: .trigram),
            StandardIndex("contacts_phone_trgm", ["phone"], using: .trigram),
            StandardIndex("contacts_email_trgm", ["email"], using: .trigram),
        ])

    public static let interaction = StandardObject(
        apiName: "interaction", label: "Interaction", pluralLabel: "Interactions", table: "interactions", module: id, position: 3,
        fields: [
            StandardField("customer_id", "Customer", .lookup, required: true, options: .target("customer"), position: 1),
            StandardField("contact_id", "Contact", .lookup, options: .target("contact"), position: 2),
            StandardField("kind", "Kind", .picklist, required: true, options: .picklist([
                ("call", "Call"), ("email", "Email"), ("visit", "Visit"), ("meeting", "Meeting"), ("note", "Note"),
            ]), position: 3),
            // Left out or null means now (a trigger fills it in).
            StandardField("occurred_at", "When", .datetime, position: 4, notNull: true, columnDefault: .now),
            StandardField("summary", "Summary", .longText, required: true, searchable: true, options: .maxLength(4000), position: 5),
            StandardField("outcome", "Outcome", .text, options: .maxLength(500), position: 6),
        ],
        indexes: [
            StandardIndex("interactions_customer_idx", ["customer_id", .desc("occurred_at")], where: [.isNull("deleted_at")]),
            StandardIndex("interactions_kind_idx", ["kind", "id"], where: [.isNull("deleted_at")]),
            StandardIndex("interactions_summary_trgm", ["summary"], using: .trigram),
        ])
}
