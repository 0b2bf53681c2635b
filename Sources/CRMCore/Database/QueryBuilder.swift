import PostgresNIO

/// Builds SQL whose shape depends on metadata (filters, scopes): text from validated
/// identifiers and our own fragments, every value a bind parameter.
public struct QueryBuilder: Sendable {
    public private(set) var sql: String
    public private(set) var binds = PostgresBindings()

    public init(_ sql: String = "") { self.sql = sql }

    /// Adds a bind parameter and returns its placeholder (`$n`).
    public mutating func bind<T: PostgresEncodable & Sendable>(_ value: T) throws -> String {
        try binds.append(value)
        return "$\(binds.count)"
    }

    /// Adds a bind parameter that may be NULL.
    public mutating func bind<T: PostgresEncodable & Sendable>(_ value: T?) throws -> String {
        try binds.append(value)
        return "$\(binds.count)"
    }

    public mutating func append(_ fragment: String) { sql += fragment }

    /// Appends a condition limiting rows to a record filter on `ownerColumn`.
    public mutating func appendCondition(_ filter: RecordFilter, ownerColumn: SQLIdentifier, alias: String? = nil) throws {
        let column = alias.map { "\($0).\(ownerColumn.quoted)" } ?? ownerColumn.quoted
        switch filter {
        case .nothing: sql += "false"
        case .all: sql += "true"
        case .owners(let owners): sql += "\(column) = ANY(\(try bind(owners)))"
        }
    }

    /// Runs `build` and returns the SQL text it appended, taking it back out of `sql`; its binds stay.
    public mutating func fragment(_ build: (inout QueryBuilder) throws -> Void) rethrows -> String {
        let start = sql.endIndex
        let before = sql
        try build(&self)
        let text = String(sql[start...])
        sql = before
        return text
    }

    public var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
}
