import Foundation

/// The contract: what a customer signed for, from when to when, for how much. Its number, status,
/// term in months, base amount and the signing, termination and renewal facts are system fields:
/// the write hook (`ContractWriteHook`) and the calls (`ContractActions`) set them.
extension SalesModule {
    static let contractStatuses: FieldOptions = .picklist([
        ("draft", "Draft"), ("active", "Active"), ("expired", "Expired"), ("terminated", "Terminated"), ("renewed", "Renewed"),
    ])

    public static let contract = StandardObject(
        apiName: "contract", label: "Contract", pluralLabel: "Contracts", table: "sales_contracts", module: id, position: 9,
        fields: [
            StandardField("number", "Number", .text, isSystem: true, searchable: true, options: .maxLength(60), position: 1),
            StandardField("name", "Name", .text, searchable: true, options: .maxLength(200), position: 2),
            StandardField("customer_id", "Customer", .lookup, required: true, options: .target("customer"), position: 3),
            StandardField("opportunity_id", "Opportunity", .lookup, options: .target("opportunity"), position: 4),
            StandardField("start_date", "Start date", .date, position: 5),
            StandardField("end_date", "End date", .date, position: 6),
            StandardField("term_months", "Term (months)", .integer, isSystem: true, position: 7),
            StandardField("auto_renew", "Renews automatically", .boolean, position: 8),
            StandardField("notice_days", "Notice (days)", .integer, options: .range(0, 3650), position: 9),
            StandardField("currency", "Currency", .text, options: .maxLength(3), position: 10),
            StandardField("amount_minor", "Amount (minor units)", .integer, options: .range(0, 999_999_999_999_999), position: 11),
            StandardField("description", "Description", .longText, position: 12),
            StandardField("status", "Status", .picklist, isSystem: true, options: contractStatuses, position: 13),
            StandardField("fx_rate", "Exchange rate", .decimal, isSystem: true, options: .range(0, 1_000_000_000, precision: 24, scale: 12),
                          position: 14),
            StandardField("amount_base_minor", "Amount in base currency (minor units)", .integer, isSystem: true, position: 15),
            StandardField("signed_at", "Signed at", .datetime, isSystem: true, position: 16),
            StandardField("signed_by", "Signed by", .user, isSystem: true, position: 17),
            StandardField("terminated_at", "Terminated at", .datetime, isSystem: true, position: 18),
            StandardField("terminated_on", "Terminated as of", .date, isSystem: true, position: 19),
            StandardField("termination_reason", "Termination reason", .text, isSystem: true, options: .maxLength(500), position: 20),
            StandardField("renewed_from_id", "Renewal of", .lookup, isSystem: true, options: .target("contract"), position: 21),
            StandardField("renewal_id", "Renewed by", .lookup, isSystem: true, options: .target("contract"), position: 22),
            StandardField("renewal_opportunity_id", "Renewal opportunity", .lookup, isSystem: true, options: .target("opportunity"),
                          position: 23),
        ],
        // The quote it was made from (quote → order conversion with a contract): one contract per quote.
        columns: [StandardColumn("quote_id", .uuid)],
        indexes: [
            StandardIndex("sales_contracts_number_idx", ["number"], unique: true),
            StandardIndex("sales_contracts_quote_idx", ["quote_id"], where: [.isNotNull("quote_id")], unique: true),
            StandardIndex("sales_contracts_customer_idx", ["customer_id", "status"], where: [.isNull("deleted_at")]),
            // The daily job: active contracts by end date.
            StandardIndex("sales_contracts_end_idx", ["status", "end_date"], where: [.isNull("deleted_at")]),
            // One renewal opportunity per contract, and one successor.
            StandardIndex("sales_contracts_renewal_opportunity_idx", ["renewal_opportunity_id"], where: [.isNotNull("renewal_opportunity_id")],
                          unique: true),
            StandardIndex("sales_contracts_renewed_from_idx", ["renewed_from_id"], where: [.isNotNull("renewed_from_id")], unique: true),
        ])
}
