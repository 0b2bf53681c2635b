extension RecordFilter {
    /// The records a caller reaches, as SQL, written once for both ways a scope reaches the
    /// database: statements built with the filter known (`QueryBuilder.appendCondition`, behind
    /// `RecordCaller.scope`) and the generated read functions, which take it as two parameters.
    /// Rows whose `ownerColumn` is in the uuid[] expression `owners`, or every row when the
    /// boolean expression `all` is true. A constant `all` is folded away by the planner, so the
    /// built statements plan as `true` or as the owner test alone.
    public static func sql(ownerColumn: String, all: String, owners: String) -> String {
        "(\(all) OR \(ownerColumn) = ANY(\(owners)))"
    }
}
