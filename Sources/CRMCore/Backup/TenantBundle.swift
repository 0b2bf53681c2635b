import Crypto
import Foundation

/// The manifest of a tenant bundle (`tenant-bundle/1`): what a backup copied, table by table,
/// with row counts and SHA-256 of each table's data file, so a restore can prove it loaded the
/// same rows. `manifest.sha256` beside it holds the SHA-256 of the manifest's own bytes.
public struct BundleManifest: Codable, Sendable, Equatable {
    public static let format = "tenant-bundle/1"

    /// One column as the data files spell it: `escaped` when its text may hold tabs, newlines
    /// or backslashes (COPY text format escapes them).
    public struct Column: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
        public var escaped: Bool
    }

    /// One tenant table: its data file, columns in file order, the key it is ordered by.
    public struct Table: Codable, Sendable, Equatable {
        public var name: String
        public var file: String
        public var columns: [Column]
        public var orderBy: [String]
        public var rows: Int
        public var bytes: Int
        public var sha256: String
    }

    public struct Sequence: Codable, Sendable, Equatable {
        public var name: String
        public var lastValue: Int64
    }

    /// The tenant's catalog row as it was (personal data of the tenant's own staff lives in its schema).
    public struct TenantRow: Codable, Sendable, Equatable {
        public var id: UUID
        public var slug: String
        public var name: String
        public var status: String
        public var plan: String
        public var schemaName: String
        public var roleName: String
        public var timeZone: String
        public var locale: String
        public var seats: Int?
    }

    public var format: String
    public var backupId: UUID
    public var tenant: TenantRow
    public var schemaVersions: [String: Int]
    public var pgVersion: String
    public var snapshotTakenAt: Date
    public var tables: [Table]
    public var sequences: [Sequence]
    /// `blueprint.yaml` when the tenant's configuration could be exported, for reading; a restore loads the tables.
    public var blueprint: String?

    public var rowCounts: [String: Int] { Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0.rows) }) }
    public var tableSHA256: [String: String] { Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0.sha256) }) }
}

/// Reading and writing bundle directories.
public enum TenantBundle {
    public static let manifestFile = "manifest.json"
    public static let manifestHashFile = "manifest.sha256"

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .iso8601
        return d
    }

    public static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    public static func sha256(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    /// Writes the manifest and its hash; returns the hash.
    @discardableResult
    static func writeManifest(_ manifest: BundleManifest, to dir: URL) throws -> String {
        let data = try encoder().encode(manifest)
        let hash = sha256(data)
        try data.write(to: dir.appendingPathComponent(manifestFile))
        try Data((hash + "\n").utf8).write(to: dir.appendingPathComponent(manifestHashFile))
        return hash
    }

    /// The manifest of the bundle at `path`, after checking its hash and every data file's
    /// size and SHA-256: a changed byte anywhere is refused here, before the database is touched.
    public static func open(_ path: String) throws -> (manifest: BundleManifest, dir: URL, manifestSHA256: String) {
        let dir = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw CRMError.invalid("bundle", "not_found", "No bundle directory at \(path).")
        }
        guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent(manifestFile).path) else {
            throw CRMError.invalid("bundle", "no_manifest", "\(path) has no \(manifestFile): not a tenant bundle.")
        }
        let expected = (FileManager.default.contents(atPath: dir.appendingPathComponent(manifestHashFile).path))
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        let actual = sha256(data)
        guard expected == actual else {
            throw CRMError.invalid("bundle", "checksum_mismatch", "The manifest's SHA-256 is \(actual), \(manifestHashFile) says '\(expected)': the bundle was changed or is incomplete.")
        }
        let manifest: BundleManifest
        do { manifest = try decoder().decode(BundleManifest.self, from: data) } catch {
            throw CRMError.invalid("bundle", "bad_manifest", "The manifest is not a \(BundleManifest.format) manifest.")
        }
        guard manifest.format == BundleManifest.format else {
            throw CRMError.invalid("bundle", "unsupported_format", "Format '\(manifest.format)' is not \(BundleManifest.format).")
        }
        for table in manifest.tables {
            guard SQLIdentifier.isValid(table.name), table.columns.allSatisfy({ SQLIdentifier.isValid($0.name) }),
                  table.orderBy.allSatisfy(SQLIdentifier.isValid), !table.file.contains("/"), !table.file.hasPrefix(".")
            else { throw CRMError.invalid("bundle", "bad_manifest", "Table '\(table.name.prefix(64))' has a name that is not ours.") }
            let file = dir.appendingPathComponent("data").appendingPathComponent(table.file)
            let (rows, bytes, hash) = try hashFile(file)
            guard hash == table.sha256, bytes == table.bytes, rows == table.rows else {
                throw CRMError.invalid("bundle", "checksum_mismatch",
                                       "Data of table \(table.name) does not match the manifest (SHA-256 \(hash), \(rows) rows; expected \(table.sha256), \(table.rows) rows): the bundle was changed.")
            }
        }
        return (manifest, dir, actual)
    }

    /// Rows (lines), bytes and SHA-256 of a data file.
    static func hashFile(_ url: URL) throws -> (Int, Int, String) {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw CRMError.invalid("bundle", "missing_file", "The bundle lacks data/\(url.lastPathComponent).")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var rows = 0, bytes = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            bytes += chunk.count
            rows += chunk.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
        }
        return (rows, bytes, hex(hasher.finalize()))
    }
}
