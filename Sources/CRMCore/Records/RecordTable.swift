/// What every record table has, whatever its object: the columns behind `id`, `version`,
/// `owner_id`, `created_at` and `updated_at`, the soft-delete columns, and their indexes.
public enum RecordTable {
    public static let standardColumns = """
        id uuid PRIMARY KEY,
            version bigint NOT NULL DEFAULT 1,
            owner_id uuid REFERENCES users(id),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            created_by uuid,
            updated_by uuid,
            deleted_at timestamptz,
            deleted_by uuid
        """

    /// `<table>_<column>_<suffix>`, shortened with a hash when it would pass PostgreSQL's 63
    /// bytes (it would silently cut the name, and two indexes could collide).
    public static func indexName(table: SQLIdentifier, column: SQLIdentifier, _ suffix: String) -> String {
        let full = "\(table.name)_\(column.name)_\(suffix)"
        guard full.utf8.count > 63 else { return full }
        var hash: UInt32 = 2_166_136_261
        for byte in full.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let tag = String(hash, radix: 16)
        return String("\(table.name)_\(column.name)".prefix(63 - suffix.count - tag.count - 2)) + "_\(tag)_\(suffix)"
    }

    /// Only released migrations use this, with a constant table name (hence `StaticString`):
    /// their text must never change, so the names stay unquoted as they were written.
    public static func standardIndexes(_ table: StaticString) -> String {
        """
        CREATE INDEX \(table)_owner_idx ON \(table) (owner_id, id) WHERE deleted_at IS NULL;
        CREATE INDEX \(table)_created_idx ON \(table) (created_at, id) WHERE deleted_at IS NULL;
        CREATE INDEX \(table)_updated_idx ON \(table) (updated_at, id) WHERE deleted_at IS NULL;
        CREATE INDEX \(table)_deleted_idx ON \(table) (deleted_at, id) WHERE deleted_at IS NOT NULL;
        """
    }
}
