import Crypto
import Foundation
import PostgresNIO

/// Who to erase: one record (a customer, contact, lead … by id), or every record whose e-mail
/// field holds an address.
public enum ErasureSubject: Sendable, Equatable {
    case record(object: String, id: UUID)
    case email(String)

    /// The ledger's key: a SHA-256, so the ledger never holds the address itself.
    public var key: String {
        switch self {
        case .record(let object, let id): return TenantBundle.sha256(Data("record:\(object):\(id.uuidString.lowercased())".utf8))
        case .email(let address): return Self.emailKey(address)
        }
    }

    static func emailKey(_ address: String) -> String {
        TenantBundle.sha256(Data(address.trimmingCharacters(in: .whitespacesAndNewlines).lowercased().utf8))
    }
}

/// Deletes a person's rows from one tenant schema. `tx` runs as the owner with the tenant's
/// schema as search_path. What it covers: the record itself; rows that must reference it
/// (NOT NULL foreign keys: its interactions, contacts of a customer …, recursively) are deleted,
/// nullable references are set to NULL; for every deleted record, the rows naming it by
/// `record_id` (history, inbox, approvals, workflow runs) and outbox/webhook rows whose JSON
/// payload mentions its id or the erased address. Audit entries keep the action, not the values.
struct SubjectEraser: Sendable {
    struct Reference: Sendable {
        var table: String
        var column: String
        var nullable: Bool
    }

    /// Erases `subject`; returns how many rows were deleted or unlinked. `mustExist`: a record
    /// subject that is not there is a 404 (a re-application after a restore passes false).
    static func erase(_ subject: ErasureSubject, mustExist: Bool, in tx: Transaction) async throws -> Int {
        var targets: [(table: String, id: UUID)] = []
        var needles: [String] = []
        switch subject {
        case .record(let object, let id):
            var table: String?
            for try await t in try await tx.query("SELECT table_name FROM objects WHERE api_name = \(object)").decode(String.self) { table = t }
            guard let table else { throw CRMError.invalid("record", "unknown_object", "No object '\(object.prefix(64))'.") }
            let t = try SQLIdentifier(table)
            var found = false
            for try await _ in try await tx.query(PostgresQuery(unsafeSQL: "SELECT 1 FROM \(t.quoted) WHERE id = $1", binds: try binds(id))) { found = true }
            if !found && mustExist { throw CRMError.notFound("No \(object) \(id.uuidString.lowercased()).") }
            if found { targets.append((table, id)) }
        case .email(let address):
            let key = ErasureSubject.emailKey(address)
            needles.append(address.trimmingCharacters(in: .whitespacesAndNewlines).lowercased())
            targets += try await recordsWithEmail(key: key, in: tx)
        }
        return try await delete(targets, needles: needles, in: tx)
    }

    /// Deletes `targets` and what hangs on them, and payload rows mentioning `needles`.
    static func delete(_ targets: [(table: String, id: UUID)], needles: [String], in tx: Transaction) async throws -> Int {
        let references = try await loadReferences(in: tx)
        var tablesWithRecordId: [String] = [], payloadTables: [String] = []
        for try await (table, column) in try await tx.query("""
            SELECT c.relname::text, a.attname::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
              AND ((a.attname = 'record_id' AND a.atttypid = 'uuid'::regtype) OR (a.attname = 'payload' AND a.atttypid = 'jsonb'::regtype))
            """).decode((String, String).self) {
            if column == "record_id" { tablesWithRecordId.append(table) } else { payloadTables.append(table) }
        }
        var count = 0
        for target in targets {
            count += try await deleteRecord(table: target.table, id: target.id, references: references,
                                            recordIdTables: tablesWithRecordId, payloadTables: payloadTables, depth: 0, in: tx)
        }
        // Queued messages that carry the address itself (an e-mail subject).
        for needle in needles where !needle.isEmpty {
            for table in payloadTables {
                let t = try SQLIdentifier(table)
                count += try await tx.update(PostgresQuery(unsafeSQL: "DELETE FROM \(t.quoted) WHERE strpos(lower(payload::text), $1) > 0",
                                                          binds: try binds(needle)))
            }
        }
        return count
    }

    /// Records of any object whose e-mail fields hash to `key` (found by the hash, so a ledger
    /// re-application needs no address).
    static func recordsWithEmail(key: String, in tx: Transaction) async throws -> [(table: String, id: UUID)] {
        var columns: [(String, String)] = []
        for try await row in try await tx.query("""
            SELECT o.table_name, f.column_name FROM fields f JOIN objects o ON o.api_name = f.object
            WHERE f.type = 'email' ORDER BY 1, 2
            """).decode((String, String).self) { columns.append(row) }
        var out: [(table: String, id: UUID)] = []
        for (table, column) in columns {
            let t = try SQLIdentifier(table), c = try SQLIdentifier(column)
            // A column of a deleted, purged field may be gone.
            var exists = false
            for try await _ in try await tx.query("""
                SELECT 1 FROM pg_attribute WHERE attrelid = (current_schema() || '.' || \(table))::regclass AND attname = \(column) AND NOT attisdropped
                """) { exists = true }
            guard exists else { continue }
            let sql = "SELECT id FROM \(t.quoted) WHERE \(c.quoted) IS NOT NULL AND encode(sha256(convert_to(lower(btrim(\(c.quoted)::text)), 'UTF8')), 'hex') = $1"
            for try await id in try await tx.query(PostgresQuery(unsafeSQL: sql, binds: try binds(key))).decode(UUID.self) {
                if !out.contains(where: { $0.table == table && $0.id == id }) { out.append((table, id)) }
            }
        }
        return out
    }

    static func loadReferences(in tx: Transaction) async throws -> [String: [Reference]] {
        var out: [String: [Reference]] = [:]
        for try await (child, column, notNull, parent) in try await tx.query("""
            SELECT c.relname::text, a.attname::text, a.attnotnull, r.relname::text
            FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
            WHERE con.contype = 'f' AND array_length(con.conkey, 1) = 1 AND c.relnamespace = current_schema()::regnamespace
            """).decode((String, String, Bool, String).self) {
            out[parent, default: []].append(Reference(table: child, column: column, nullable: !notNull))
        }
        return out
    }

    static func deleteRecord(table: String, id: UUID, references: [String: [Reference]], recordIdTables: [String],
                             payloadTables: [String], depth: Int, in tx: Transaction) async throws -> Int {
        var count = 0
        for ref in references[table] ?? [] where !(ref.table == table && ref.nullable) {
            let c = try SQLIdentifier(ref.table), col = try SQLIdentifier(ref.column)
            if ref.nullable || depth >= 4 {
                count += try await tx.update(PostgresQuery(unsafeSQL: "UPDATE \(c.quoted) SET \(col.quoted) = NULL WHERE \(col.quoted) = $1",
                                                          binds: try binds(id)))
            } else {
                // Rows that cannot exist without the subject: delete them (and what hangs on them).
                var hasId = false
                for try await _ in try await tx.query("""
                    SELECT 1 FROM pg_attribute WHERE attrelid = (current_schema() || '.' || \(ref.table))::regclass AND attname = 'id' AND atttypid = 'uuid'::regtype
                    """) { hasId = true }
                if hasId {
                    var children: [UUID] = []
                    for try await child in try await tx.query(PostgresQuery(unsafeSQL: "SELECT id FROM \(c.quoted) WHERE \(col.quoted) = $1",
                                                                           binds: try binds(id))).decode(UUID.self) { children.append(child) }
                    for child in children {
                        count += try await deleteRecord(table: ref.table, id: child, references: references, recordIdTables: recordIdTables,
                                                        payloadTables: payloadTables, depth: depth + 1, in: tx)
                    }
                } else {
                    count += try await tx.update(PostgresQuery(unsafeSQL: "DELETE FROM \(c.quoted) WHERE \(col.quoted) = $1", binds: try binds(id)))
                }
            }
        }
        let idText = id.uuidString.lowercased()
        for table in recordIdTables {
            let t = try SQLIdentifier(table)
            count += try await tx.update(PostgresQuery(unsafeSQL: "DELETE FROM \(t.quoted) WHERE record_id = $1", binds: try binds(id)))
        }
        for table in payloadTables {
            let t = try SQLIdentifier(table)
            count += try await tx.update(PostgresQuery(unsafeSQL: "DELETE FROM \(t.quoted) WHERE strpos(payload::text, $1) > 0",
                                                      binds: try binds(idText)))
        }
        let t = try SQLIdentifier(table)
        count += try await tx.update(PostgresQuery(unsafeSQL: "DELETE FROM \(t.quoted) WHERE id = $1", binds: try binds(id)))
        return count
    }

    static func binds<T: PostgresEncodable>(_ value: T) throws -> PostgresBindings {
        var b = PostgresBindings()
        try b.append(value)
        return b
    }

    /// Applies every ledger entry of tenant `ledgerTenant` to the schema `tx` works in; returns how many entries.
    static func reapply(ledgerTenant: UUID, in tx: Transaction) async throws -> Int {
        var entries: [(String, String?)] = []
        for try await row in try await tx.query("""
            SELECT subject_kind, subject_ref::text FROM platform.erasure_ledger WHERE tenant_id = \(ledgerTenant) ORDER BY id
            """).decode((String, String?).self) { entries.append(row) }
        var keys: [String] = []
        for try await key in try await tx.query("""
            SELECT subject_key_sha256 FROM platform.erasure_ledger WHERE tenant_id = \(ledgerTenant) AND subject_kind = 'email' ORDER BY id
            """).decode(String.self) { keys.append(key) }
        for (kind, ref) in entries where kind == "record" {
            guard let ref, let json = try? JSONSerialization.jsonObject(with: Data(ref.utf8)) as? [String: String],
                  let object = json["object"], let id = json["id"].flatMap(UUID.init(uuidString:)) else { continue }
            _ = try await erase(.record(object: object, id: id), mustExist: false, in: tx)
        }
        for key in keys {
            _ = try await delete(try await recordsWithEmail(key: key, in: tx), needles: [], in: tx)
        }
        return entries.count
    }

    /// Appends the ledger row in the caller's transaction.
    static func record(_ subject: ErasureSubject, tenantId: UUID, rows: Int, at: Date, in tx: Transaction) async throws {
        var ref: String?
        if case .record(let object, let id) = subject {
            ref = String(decoding: try JSONSerialization.data(withJSONObject: ["object": object, "id": id.uuidString.lowercased()],
                                                              options: .sortedKeys), as: UTF8.self)
        }
        let kind: String
        if case .record = subject { kind = "record" } else { kind = "email" }
        try await tx.execute("""
            INSERT INTO platform.erasure_ledger (tenant_id, subject_key_sha256, subject_kind, subject_ref, rows_deleted, erased_at)
            VALUES (\(tenantId), \(subject.key), \(kind), \(ref)::jsonb, \(Int32(clamping: rows)), \(at))
            """)
    }
}
