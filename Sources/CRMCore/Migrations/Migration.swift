import Crypto
import Foundation

/// One versioned change to a schema: our own SQL, run in one transaction with the others that
/// a run applies. Tenant migrations are written expand-then-contract (add, backfill, switch
/// readers, only then drop), because the server keeps running while tenants are on mixed versions.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String
    public init(_ version: Int, _ name: String, _ sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// SHA-256 of the text, in hex: a released migration's never changes (a test holds them).
    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The migration a `NNNN_name.sql` file holds. A header (leading `--` lines ended by an
    /// empty line) says why the migration exists and is not part of its text, so it can be
    /// reworded without changing what a released migration runs; so is the file's final newline.
    public static func parse(fileName: String, contents: String) -> Migration? {
        guard fileName.hasSuffix(".sql") else { return nil }
        let stem = fileName.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else { return nil }
        let name = String(stem[stem.index(after: underscore)...])
        guard !name.isEmpty else { return nil }
        var lines = contents.split(separator: "\n", omittingEmptySubsequences: false)
        let comments = lines.prefix { $0.hasPrefix("--") }.count
        if comments > 0, comments < lines.count, lines[comments].isEmpty { lines.removeFirst(comments + 1) }
        var sql = lines.joined(separator: "\n")
        if sql.hasSuffix("\n") { sql.removeLast() }
        return Migration(version, name, sql)
    }
}

/// A named, ordered list of migrations: the platform's, or one module's tenant tables.
public struct MigrationScope: Sendable {
    public let id: String
    public let migrations: [Migration]

    public init(id: String, migrations: [Migration]) {
        // Strictly increasing from 1: a gap is a number reserved by a branch not merged yet (issue 17
        // gave each branch its platform number); `pending(after:)` does not need them contiguous.
        let versions = migrations.map(\.version)
        precondition((versions.first ?? 1) >= 1 && zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 },
                     "versions of \(id) must be increasing from 1")
        self.id = id
        self.migrations = migrations
    }

    public var head: Int { migrations.last?.version ?? 0 }

    public func pending(after version: Int) -> [Migration] { migrations.filter { $0.version > version } }

    /// The scope `id` from its folder of `NNNN_name.sql` files, which Package.swift copies into
    /// the resources under the scope's id (Migrations/core, Modules/Leads/migrations/leads, …:
    /// the last folder is named after the scope, as copied resources share one namespace).
    public static func bundled(_ id: String) -> MigrationScope {
        guard let folder = Bundle.module.url(forResource: id, withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path)
        else { fatalError("no migrations folder '\(id)' among the resources: is it copied in Package.swift?") }
        let migrations = names.filter { $0.hasSuffix(".sql") }.sorted().map { name -> Migration in
            guard let text = try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8),
                  let migration = Migration.parse(fileName: name, contents: text)
            else { fatalError("migration file \(id)/\(name) is unreadable or not named NNNN_name.sql") }
            return migration
        }
        return MigrationScope(id: id, migrations: migrations)
    }
}
