/// What every record table has, whatever its object: the columns behind `id`, `version`,
/// `owner_id`, `created_at` and `updated_at`, the soft-delete columns, and their indexes.
public enum RecordTable {
    static let standardColumns = """
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

    static func standardIndexes(_ table: String) -> String {
        """
        CREATE INDEX \(table)_owner_idx ON \(table) (owner_id, id) WHERE deleted_at IS NULL;
        CREATE INDEX \(table)_created_idx ON \(table) (created_at, id) WHERE deleted_at IS NULL;
        CREATE INDEX \(table)_updated_idx ON \(table) (updated_at, id) WHERE deleted_at IS NULL;
        CREATE INDEX \(table)_deleted_idx ON \(table) (deleted_at, id) WHERE deleted_at IS NOT NULL;
        """
    }
}
