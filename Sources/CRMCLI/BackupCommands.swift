import ArgumentParser
import CRMCore
import Foundation

/// `crm tenant backup|restore|export|erase|purge|backups`: per-tenant bundles (issue 17 item 6).
enum BackupCommands {
    /// Runs `body`; a client error becomes a one-line message and exit code 64, never a crash.
    static func run(_ body: @Sendable @escaping (AppServices) async throws -> Void) async throws {
        try await withServices { services, _ in
            do { try await body(services) } catch let error as CRMError { throw ValidationError(explain(error)) }
        }
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        return (try? e.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a tenant bundle (every tenant table in one snapshot, manifest with counts and SHA-256).")
        @Argument var slug: String
        @Option(help: "Directory to write the bundle under (default: CRM_BACKUP_DIR/<slug>).") var out: String?
        func run() async throws {
            try await BackupCommands.run { services in
                let start = ContinuousClock.now
                let rec = try await services.backups.backup(slug: slug, outDir: out)
                let total = rec.rowCounts.values.reduce(0, +)
                print("backup \(rec.id) \(rec.status): \(rec.rowCounts.count) tables, \(total) rows, \(rec.bytes ?? 0) bytes in \(ContinuousClock.now - start)")
                print("bundle: \(rec.path ?? "")")
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a bundle: as a new tenant (--as NEW_SLUG) or in place over its tenant (read-only meanwhile).")
        @Argument(help: "The bundle directory.") var bundle: String
        @Option(name: .customLong("as"), help: "Restore as a new tenant with this slug.") var asSlug: String?
        func run() async throws {
            try await BackupCommands.run { services in
                let start = ContinuousClock.now
                let r = try await services.backups.restore(bundle: bundle, asSlug: asSlug, actor: "cli")
                print("restored \(r.mode) as \(r.slug) (\(r.tenantId)), schema \(r.schema): \(r.tables) tables, \(r.rows) rows verified, \(r.erasuresReapplied) erasures re-applied, in \(ContinuousClock.now - start)")
                if let old = r.oldSchema {
                    print("read-only for \(String(format: "%.2f", r.readOnlySeconds ?? 0)) s; previous data kept in schema \(old) (drop it after 7 days: DROP SCHEMA \"\(old)\" CASCADE), pre-restore backup \(r.preRestoreBackupId.map { "\($0)" } ?? "-")")
                }
            }
        }
    }

    struct Backups: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "backups", abstract: "List a tenant's backups, newest first.")
        @Argument var slug: String
        func run() async throws {
            try await BackupCommands.run { services in
                for b in try await services.backups.list(slug: slug) {
                    print("\(b.id)\t\(b.kind)\t\(b.status)\t\(b.createdAt)\t\(b.bytes ?? 0)\t\(b.path ?? "")")
                }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export a tenant's records for the customer: one CSV or JSON-lines file per object.")
        @Argument var slug: String
        @Option(help: "csv or jsonl.") var format = "csv"
        @Option(help: "Directory to write to.") var out: String?
        func run() async throws {
            try await BackupCommands.run { services in
                let r = try await services.backups.export(slug: slug, format: format, outDir: out)
                for f in r.files { print("\(f.file)\t\(f.rows) rows") }
                print("export: \(r.directory)")
            }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase one person from a tenant (a record, or every record with an e-mail) and log it in the erasure ledger.")
        @Argument var slug: String
        @Option(help: "OBJECT/ID, e.g. contact/0191…") var record: String?
        @Option(help: "Every record whose e-mail fields hold this address.") var email: String?
        func run() async throws {
            let subject: ErasureSubject
            if let record {
                let parts = record.split(separator: "/", maxSplits: 1).map(String.init)
                guard parts.count == 2, let id = UUID(uuidString: parts[1]) else { throw ValidationError("--record must be OBJECT/ID with a UUID id") }
                subject = .record(object: parts[0], id: id)
            } else if let email {
                subject = .email(email)
            } else {
                throw ValidationError("give --record OBJECT/ID or --email ADDRESS")
            }
            try await BackupCommands.run { services in
                let rows = try await services.backups.erase(slug: slug, subject: subject, actor: "cli")
                print("erased: \(rows) rows deleted or unlinked; ledger key \(subject.key)")
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop a cancelled tenant's schema and role after a pre-purge bundle; keeps its catalog row (scrubbed), audit and invoices.")
        @Argument var slug: String
        @Option(help: "The slug again.") var confirm: String?
        func run() async throws {
            try await BackupCommands.run { services in
                let r = try await services.backups.purge(slug: slug, confirm: confirm, actor: "cli")
                if r.purged {
                    print("purged \(r.slug): dropped \(r.droppedSchemas.joined(separator: ", ")); pre-purge backup \(r.prePurgeBackupId.map { "\($0)" } ?? "-")")
                } else {
                    print("\(r.slug) was already purged: nothing to do")
                }
            }
        }
    }
}
