import Foundation

/// The leads module's standard object (lead), and the duplicate keys and pool columns it adds
/// to customers.
extension LeadsModule {
    /// The keys the duplicate check compares, computed from a record's phone, email and company.
    static func duplicateKeys(phone: StaticString, email: StaticString, company: StaticString) -> [StandardColumn] {
        [StandardColumn("phone_key", .text, generated: GeneratedColumn(phoneKey(phone))),
         StandardColumn("email_key", .text, generated: GeneratedColumn(emailKey(email))),
         StandardColumn("company_key", .text, generated: GeneratedColumn(companyKey(company)))]
    }

    static func duplicateKeyIndexes(_ table: String) -> [StandardIndex] {
        [StandardIndex("\(table)_phone_key", ["phone_key"], where: [.isNull("deleted_at")]),
         StandardIndex("\(table)_email_key", ["email_key"], where: [.isNull("deleted_at")]),
         StandardIndex("\(table)_company_key", ["company_key"], where: [.isNull("deleted_at")])]
    }

    /// Similar names are searched by word similarity of the name being checked against whole
    /// stored names, through these trigram indexes. A short pending list (256 kB): longer ones
    /// made every search read thousands of recent inserts (measured, leads migration 3).
    static let similarityPendingList = 256

    public static let lead = StandardObject(
        apiName: "lead", label: "Lead", pluralLabel: "Leads", table: "leads", module: id, position: 3,
        fields: [
            StandardField("name", "Name", .text, required: true, searchable: true, options: .maxLength(200), position: 1),
            StandardField("company", "Company", .text, searchable: true, options: .maxLength(200), position: 2),
            StandardField("title", "Title", .text, options: .maxLength(100), position: 3),
            StandardField("phone", "Phone", .phone, searchable: true, position: 4),
            StandardField("email", "Email", .email, searchable: true, position: 5),
            StandardField("source", "Source", .picklist, options: CustomersModule.sources, position: 6),
            StandardField("status", "Status", .picklist, required: true, options: .picklist([
                ("new", "New"), ("working", "Working"), ("qualified", "Qualified"), ("unqualified", "Unqualified"),
                ("converted", "Converted"),
            ]), default: .string("new"), position: 7),
            StandardField("description", "Description", .longText, position: 8),
            StandardField("converted_at", "Converted at", .datetime, isSystem: true, position: 9),
            StandardField("converted_customer_id", "Converted customer", .lookup, isSystem: true, options: .target("customer"),
                          position: 10),
        ],
        columns: [StandardColumn("converted_contact_id", .uuid, references: "contacts")]
            + duplicateKeys(phone: "phone", email: "email", company: "company"),
        indexes: [
            StandardIndex("leads_name_idx", ["name", "id"], where: [.isNull("deleted_at")]),
            StandardIndex("leads_status_idx", ["status", "id"], where: [.isNull("deleted_at")]),
            StandardIndex("leads_company_trgm", ["company"], using: .trigram, pendingListLimit: similarityPendingList,
                          where: [.isNull("deleted_at")]),
        ] + duplicateKeyIndexes("leads"))

    /// Customers get the same keys (checks run across both) and the public pool's columns.
    public static let customerExtension = ObjectExtension(
        object: "customer",
        columns: duplicateKeys(phone: "phone", email: "email", company: "name")
            + [StandardColumn("pool_entered_at", .timestamptz), StandardColumn("pool_previous_owner", .uuid)],
        indexes: duplicateKeyIndexes("customers"),
        replacedIndexes: [StandardIndex("customers_name_trgm", ["name"], using: .trigram, pendingListLimit: similarityPendingList)])
}
