import Crypto
import Foundation
import PostgresNIO

/// What a customer export wrote.
public struct ExportResult: Sendable, Codable {
    public struct File: Sendable, Codable {
        public var object: String
        public var file: String
        public var rows: Int
        public var sha256: String
    }
    public var format: String
    public var directory: String
    public var files: [File]
}

extension BackupService {
    /// The customer's own export: one file per object (live records; columns are the fields'
    /// api names, `id` first), CSV or JSON lines, and `manifest.json` with counts and SHA-256.
    /// Read in one snapshot as the owner, so a suspended or cancelled tenant can export too.
    public func export(slug: String, format: String = "csv", outDir: String? = nil) async throws -> ExportResult {
        guard format == "csv" || format == "jsonl" else { throw CRMError.invalid("format", "invalid_value", "One of: csv, jsonl.") }
        let tenant = try await tenant(slug: slug)
        guard tenant.status != .purged else { throw CRMError.conflict("Tenant '\(slug)' is purged.") }
        let schema = try tenant.schema()
        let now = services.clock.now()
        let dir = outDir.map { URL(fileURLWithPath: $0) }
            ?? root.appendingPathComponent(tenant.slug).appendingPathComponent("export-\(Self.stamp(now))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let files: [ExportResult.File] = try await db.snapshotTransaction(searchPath: schema.schema) { tx in
            try await tx.execute(PostgresQuery(unsafeSQL: SchemaCatalog.stableOutput))
            let metadata = try await TenantMetadata.load(version: 0, in: tx)
            var out: [ExportResult.File] = []
            for object in metadata.ordered {
                var fields: [(String, String)] = [("id", "id")]
                for f in object.fields where f.apiName != "id" { fields.append((f.apiName, f.column.name)) }
                let t = object.table.quoted
                let body: String
                var header = ""
                if format == "csv" {
                    header = fields.map { Self.csv($0.0) }.joined(separator: ",") + "\r\n"
                    body = fields.map { f in
                        let c = "t." + SQLIdentifier.quote(f.1)
                        return "coalesce('\"' || replace(\(c)::text, '\"', '\"\"') || '\"', '')"
                    }.joined(separator: " || ',' || ") + " || E'\\r\\n'"
                } else {
                    // jsonb_build_object takes at most 100 arguments: built in slices and merged.
                    let parts = stride(from: 0, to: fields.count, by: 40).map { i in
                        "jsonb_build_object(" + fields[i..<min(i + 40, fields.count)].map { f in
                            SQLIdentifier.literal(f.0) + ", t." + SQLIdentifier.quote(f.1)
                        }.joined(separator: ", ") + ")"
                    }
                    body = "(" + parts.joined(separator: " || ") + ")::text || E'\\n'"
                }
                let file = "\(object.apiName).\(format)"
                let url = dir.appendingPathComponent(file)
                FileManager.default.createFile(atPath: url.path, contents: nil)
                let handle = try FileHandle(forWritingTo: url)
                defer { try? handle.close() }
                var data = Data(header.utf8)
                var rows = 0
                var hasher = TenantBundleHasher()
                for try await line in try await tx.query(PostgresQuery(
                    unsafeSQL: "SELECT \(body) FROM \(t) AS t WHERE t.deleted_at IS NULL ORDER BY t.id")).decode(String.self) {
                    data.append(contentsOf: line.utf8)
                    rows += 1
                    if data.count >= 1 << 20 {
                        hasher.update(data)
                        try handle.write(contentsOf: data)
                        data.removeAll(keepingCapacity: true)
                    }
                }
                hasher.update(data)
                try handle.write(contentsOf: data)
                out.append(.init(object: object.apiName, file: file, rows: rows, sha256: hasher.finish()))
            }
            return out
        }
        let result = ExportResult(format: format, directory: dir.path, files: files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(result).write(to: dir.appendingPathComponent("manifest.json"))
        return result
    }

    static func csv(_ s: String) -> String { "\"" + s.doubling(UInt8(ascii: "\"")) + "\"" }
}

/// SHA-256 over the chunks of a file being written.
struct TenantBundleHasher {
    var inner = Crypto.SHA256()
    mutating func update(_ data: Data) { inner.update(data: data) }
    func finish() -> String { TenantBundle.hex(inner.finalize()) }
}
