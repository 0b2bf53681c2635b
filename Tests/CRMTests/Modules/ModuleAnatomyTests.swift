import CRMCore
import Foundation
import PostgresNIO
import Testing

/// A module made only for this test — one object, one hook, one setting, one job, one route,
/// one 360° panel — registered here, works end to end without touching any other folder.
struct MemosModule: CRMModule {
    static let id = "memos_test"
    var id: String { Self.id }
    var name: String { "Memos (test)" }
    var requires: [String] { [CustomersModule.id] }
    var ownedTables: [String: String] { ["memo": "memos"] }

    /// Its object, declared as a value; its first migration is generated from it (a module with
    /// released files keeps the output of `crm dev object-sql memo` as its 0001 file instead).
    static let memo = StandardObject(
        apiName: "memo", label: "Memo", pluralLabel: "Memos", table: "memos", module: id, position: 90,
        fields: [StandardField("body", "Body", .text, required: true, searchable: true, options: .maxLength(2000), position: 1),
                 StandardField("customer_id", "Customer", .lookup, options: .target("customer"), position: 2)],
        columns: [StandardColumn("stamped_at", .timestamptz)])
    var objects: [StandardObject] { [Self.memo] }

    var migrations: MigrationScope {
        MigrationScope(id: Self.id, migrations: [
            Migration(1, "memos", try! StandardObjectSQL.migration(Self.memo, tables: ModuleRegistry.standard.objectTables) + """
                UPDATE settings SET value = to_jsonb((value #>> '{}')::bigint + 1), updated_at = now() WHERE key = 'metadata_version';
                """),
        ])
    }

    /// The longest memo this tenant takes (a typed setting with its rule).
    static let maxLength = Setting<Int>(module: id, name: "max_length", default: 100) { n in
        guard (1...2000).contains(n) else { throw CRMError.invalid("max_length", "out_of_range", "Between 1 and 2000.") }
    }
    var settings: [any ModuleSetting] { [Self.maxLength] }

    struct LengthHook: RecordHook {
        let object = "memo"
        func beforeSave(_ write: RecordWrite, in tx: Transaction) async throws -> [String: JSONValue] {
            let max = try await MemosModule.maxLength.load(in: tx)
            if let body = write.written("body"), body.count > max {
                throw CRMError.invalid("body", "longer_than_setting", "This company's memos are at most \(max) characters.")
            }
            return ["memo_length": .number(Decimal(write.text("body")?.count ?? 0))]
        }
    }
    func hooks(_ context: ModuleContext) -> [any RecordHook] { [LengthHook()] }

    static let stamp = "memos_test.stamp"
    var jobs: [ModuleJob] {
        [ModuleJob(kind: Self.stamp, cron: nil) { ctx, services, tx in
            _ = try await SystemWrite(object: "memo", table: try SQLIdentifier("memos"),
                                      set: [SystemWrite.Assignment(field: nil, column: "stamped_at", .date(ctx.clock.now()))],
                                      hooks: services.records.hooks)
                .run(where: { q in q.append("t.stamped_at IS NULL") }, actor: .system(Self.stamp), at: ctx.clock.now(), in: tx)
        }]
    }

    var customerPanels: [CustomerPanel] { [CustomerPanel(key: "memos", object: "memo", column: "customer_id", sort: "-created_at", limit: 5)] }

    struct Count: Encodable { var count: Int; var stamped: Int }
    var routes: [ModuleRoute] {
        [ModuleRoute(.get, "memos/count") { r in
            for try await (count, stamped) in try await r.tx.query(
                "SELECT count(*)::int8, count(stamped_at)::int8 FROM memos WHERE deleted_at IS NULL").decode((Int64, Int64).self) {
                return try .json(Count(count: Int(count), stamped: Int(stamped)))
            }
            return try .json(Count(count: 0, stamped: 0))
        }]
    }
}

@Suite("Module anatomy: a module declares itself")
struct ModuleAnatomyTests {
    @Test("a module registered only in this test: enable, its route, its object with its hook and setting, its job, its panel")
    func testModule() async throws {
        let shared = try await TestEnvironment.shared.services()
        let services = AppServices(config: shared.config, db: shared.db, registry: ModuleRegistry.standard.adding([MemosModule()]))
        // A plan that offers it.
        let plan = "test-memos-\(UUID().compactHex.prefix(8))"
        try await services.db.platformTransaction { tx in
            try await tx.execute("""
                INSERT INTO platform.plans (id, name, price_per_seat_minor, currency, modules)
                VALUES (\(plan), 'Memos test', 0, 'USD', ARRAY['customers', 'memos_test'])
                """)
        }
        try await TestAPI(services: services).run { client in
            let t = try await Fixtures.tenant(services, plan: plan)
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let f = RecordsFixture(services: services, t: t, client: client, admin: token)

            // Off until enabled: its route and its object say so.
            let off = try await f.call(.get, "/api/v1/memos/count")
            #expect(off.object["type"] as? String == "module-disabled", "\(off.status) \(off.text)")
            let enabled = try await f.call(.post, "/api/v1/admin/modules/memos_test/enable")
            #expect(enabled.status == 200, "\(enabled.text)")

            // Its object through the records API, with its hook and its setting.
            let customer = try await f.create("customer", ["name": "Memo holder"])
            let customerId = try #require(customer["id"] as? String)
            let made = try await f.call(.post, "/api/v1/records/memo", json: ["body": "call back on Monday", "customer_id": customerId])
            #expect(made.status == 201, "\(made.text)")
            #expect(made.object["memo_length"] as? Int == 19, "the hook's annotation: \(made.text)")
            try await services.db.transaction(for: try t.tenant.schema()) { tx in try await MemosModule.maxLength.save(10, in: tx) }
            let long = try await f.call(.post, "/api/v1/records/memo", json: ["body": "far longer than ten characters"])
            #expect(long.status == 400 && long.fieldCodes == ["longer_than_setting"] && long.fieldNames == ["body"], "\(long.text)")
            await #expect(throws: CRMError.self) {
                try await services.db.transaction(for: try t.tenant.schema()) { tx in try await MemosModule.maxLength.save(0, in: tx) }
            }

            // Its route.
            let count = try await f.call(.get, "/api/v1/memos/count")
            #expect(count.status == 200 && count.object["count"] as? Int == 1 && count.object["stamped"] as? Int == 0, "\(count.text)")

            // Its job, on a runner of its own kind only (other tests' jobs are not ours to run).
            let runner = JobRunner(queue: services.jobs, scheduler: services.jobSchedules,
                                   configuration: .init(kinds: [MemosModule.stamp]))
            ModuleJobs.register(on: runner, services: services)
            _ = try await services.jobs.enqueue(NewJob(kind: MemosModule.stamp, tenantId: t.tenant.id))
            #expect(try await runner.runDue(limit: 5) == 1)
            let after = try await f.call(.get, "/api/v1/memos/count")
            #expect(after.object["stamped"] as? Int == 1, "\(after.text)")

            // Its panel on the customer 360° view.
            let overview = try await f.call(.get, "/api/v1/customers/\(customerId)/overview")
            let memos = overview.object["memos"] as? [String: Any]
            #expect(memos?["total"] as? Int == 1 && (memos?["data"] as? [[String: Any]])?.first?["body"] as? String == "call back on Monday",
                    "\(overview.text)")

            // Its writes have change events like any other object's.
            let events: Int = try await services.db.transaction(for: try t.tenant.schema()) { tx in
                for try await n in try await tx.query(
                    "SELECT count(*)::int8 FROM outbox WHERE stream = 'record' AND payload->>'object' = 'memo'").decode(Int64.self) { return Int(n) }
                return 0
            }
            #expect(events == 1, "the create; the job's stamp changes no tracked field")
        }
    }
}
