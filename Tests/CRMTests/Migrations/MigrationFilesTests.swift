@testable import CRMCore
import Foundation
import Testing

/// Migrations are the .sql files next to their owners, loaded as resources; these tests hold
/// what they run to the released text.
@Suite("Migration files")
struct MigrationFilesTests {
    static var scopes: [MigrationScope] { [PlatformMigrations.scope] + TenantMigrations.all }

    static func key(_ scope: MigrationScope, _ m: Migration) -> String {
        "\(scope.id)/" + String(format: "%04d_", m.version) + m.name
    }

    @Test("every scope loads from its files, and each released migration runs the text it was released with (checksums)")
    func releasedTextUnchanged() throws {
        let url = Snapshot.root.appendingPathComponent("released-migrations.txt")
        let text = try String(contentsOf: url, encoding: .utf8)
        var recorded: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            try #require(parts.count == 2, "malformed line '\(line)'")
            recorded[String(parts[0])] = String(parts[1])
        }
        #expect(Self.scopes.map(\.id) == ["platform", "core", "customers", "approvals", "leads", "activities", "workflow", "sales"])
        var seen = Set<String>(), added: [String] = []
        for scope in Self.scopes {
            #expect(scope.head >= 1, "\(scope.id) has no migrations")
            for m in scope.migrations {
                let key = Self.key(scope, m)
                seen.insert(key)
                if let checksum = recorded[key] {
                    #expect(m.checksum == checksum, "released migration \(key) was edited; add a new migration instead")
                } else if Snapshot.updating {
                    added.append("\(key) \(m.checksum)")
                } else {
                    Issue.record("\(key) has no recorded checksum; run with CRM_UPDATE_SNAPSHOTS=1 to record it")
                }
            }
        }
        for gone in Set(recorded.keys).subtracting(seen).sorted() {
            Issue.record("released migration \(gone) is gone; released migrations stay")
        }
        if !added.isEmpty {
            try Data((text + added.joined(separator: "\n") + "\n").utf8).write(to: url)
        }
    }

    @Test("a file's leading comment block ended by an empty line is its header, not part of the migration's text")
    func headerAndFinalNewline() throws {
        let withHeader = try #require(Migration.parse(fileName: "0007_add_things.sql", contents: "-- Why.\n-- More why.\n\n-- kept\nCREATE TABLE x ();\n"))
        #expect(withHeader.version == 7 && withHeader.name == "add_things")
        #expect(withHeader.sql == "-- kept\nCREATE TABLE x ();")
        let noHeader = try #require(Migration.parse(fileName: "0001_a.sql", contents: "-- kept\nCREATE TABLE x ();\n\nDROP TABLE y;\n"))
        #expect(noHeader.sql == "-- kept\nCREATE TABLE x ();\n\nDROP TABLE y;")
        #expect(Migration.parse(fileName: "notes.sql", contents: "") == nil)
        #expect(Migration.parse(fileName: "0001_a.txt", contents: "") == nil)
        #expect(Migration.parse(fileName: "0000_a.sql", contents: "") == nil)
    }

    @Test("the duplicate keys a check computes are those the leads migrations store and crm_lead_check computes")
    func leadKeysAgree() throws {
        let sql = Dictionary(uniqueKeysWithValues: LeadsModule.migrations.migrations.map { ($0.version, $0.sql) })
        let leads = try #require(sql[1]), registrations = try #require(sql[2]), check = try #require(sql[6])
        func stored(_ expression: String) -> String { "GENERATED ALWAYS AS (\(expression)) STORED" }
        for needle in [stored(LeadsModule.phoneKey("phone")), stored(LeadsModule.emailKey("email")),
                       stored(LeadsModule.companyKey("company")), stored(LeadsModule.companyKey("name"))] {
            #expect(leads.contains(needle), "leads migration 1 lacks \(needle)")
        }
        for needle in [stored(LeadsModule.phoneKey("phone")), stored(LeadsModule.emailKey("email")), stored(LeadsModule.companyKey("company"))] {
            #expect(registrations.contains(needle), "leads migration 2 lacks \(needle)")
        }
        for needle in ["k_p text := \(LeadsModule.phoneKey("p_phone"));", "k_e text := \(LeadsModule.emailKey("p_email"));",
                       "k_c text := \(LeadsModule.companyKey("p_company"));", "k_core text := \(LeadsModule.companyCore("p_company"));"] {
            #expect(check.contains(needle), "leads migration 6 lacks \(needle)")
        }
    }

    @Test("every standard object's table was made with the standard record columns and indexes")
    func standardColumns() throws {
        let all = Self.scopes.flatMap(\.migrations).map(\.sql).joined(separator: "\n")
        let indexes = [
            RecordTable.standardIndexes("customers"), RecordTable.standardIndexes("contacts"), RecordTable.standardIndexes("interactions"),
            RecordTable.standardIndexes("leads"), RecordTable.standardIndexes("tasks"), RecordTable.standardIndexes("events"),
            RecordTable.standardIndexes("visits"),
        ]
        for (table, index) in zip(["customers", "contacts", "interactions", "leads", "tasks", "events", "visits"], indexes) {
            #expect(all.contains("CREATE TABLE \(table) (\n    \(RecordTable.standardColumns),\n"), "\(table) lacks the standard columns")
            #expect(all.contains(index), "\(table) lacks the standard indexes")
        }
    }
}

extension MigrationFilesTests {
    @Test("each named schema feature is the migration of that name in its scope")
    func featuresNameTheirMigrations() throws {
        let scopes = Dictionary(uniqueKeysWithValues: Self.scopes.map { ($0.id, $0) })
        for feature in TenantMigrations.features {
            let scope = try #require(scopes[feature.scope])
            let migration = scope.migrations.first { $0.version == feature.version }
            #expect(migration?.name == feature.migration, "\(feature.migration) is not \(feature.scope) migration \(feature.version)")
        }
    }
}
