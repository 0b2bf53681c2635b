/// The sales module (SFA): pipelines with stages, opportunities, the money they carry in any
/// enabled currency with its base amount; products, price books and quotes; orders and 回款
/// (payment collection); forecast. Needs customers (every deal is with one).
public struct SalesModule: CRMModule {
    public init() {}

    public static let id = "sales"

    /// The tables that hold each object's records, for ownership transfers.
    public static let ownedTables: [String: String] = ["opportunity": "opportunities", "product": "products", "quote": "quotes",
                                                       "order": "sales_orders", "contract": "sales_contracts"]

    /// The files in migrations/sales/ next to this file.
    public static let migrations = MigrationScope.bundled(id)
}
