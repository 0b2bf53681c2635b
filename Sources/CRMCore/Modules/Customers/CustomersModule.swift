/// The customers module (always on): the customer and contact objects, their tables and their
/// standard fields' metadata. Issue 6's module registry picks this scope up as is.
public struct CustomersModule: CRMModule {
    public init() {}

    public static let id = "customers"

    /// The tables that hold each object's records, for ownership transfers.
    public static let ownedTables: [String: String] = ["customer": "customers", "contact": "contacts", "interaction": "interactions"]


    /// The files in migrations/<id>/ next to this file.
    public static let migrations = MigrationScope.bundled(id)
}