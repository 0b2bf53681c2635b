import CRMCore
import Foundation
import PostgresNIO
import Testing

@Suite("Workflow: a tenant's change events drained in lanes by record")
struct DispatchLaneTests {
    @Test("two lanes take disjoint events that cover them all, each record's all in one lane; a rule runs once per event")
    func lanesPartitionByRecord() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            // A published rule makes the tenant's events wait for dispatch; it fires on every phone change.
            try await w.rule(["trigger": ["type": "field_changed", "fields": ["phone"]], "log_skipped": true,
                              "conditions": ["field": "name", "op": "eq", "value": "never"],
                              "actions": [["type": "set_field", "values": ["level": "vip"]]]])
            var ids: [String] = []
            for i in 0..<12 { ids.append(try #require(try await w.f.create("customer", ["name": "Lane \(i)"])["id"] as? String)) }
            for round in 0..<3 {
                for id in ids { #expect(try await w.patch("customer", id, ["phone": "+86 10 5555 \(round)\(ids.firstIndex(of: id)!)"]).status == 200) }
            }
            let schema = try w.f.t.tenant.schema()
            let lanes = ChangeEventDispatcher(consumers: services.events.consumers, lanes: 2)
            // Each lane alone, one batch each, as two servers' lanes would.
            var taken: [Int: [(record: String, at: Date, id: UUID)]] = [:]
            for lane in 0..<2 {
                let n = try await services.db.transaction(for: schema) { tx in
                    try await lanes.dispatchBatch(tenant: w.f.t.tenant, services: services, logger: services.db.logger, batch: 500, lane: lane, in: tx)
                }
                #expect(n >= 0)
                taken[lane] = try await services.db.transaction(for: schema) { tx in
                    var out: [(String, Date, UUID)] = []
                    for try await (record, at, id) in try await tx.query("""
                        SELECT payload ->> 'id', created_at, id FROM outbox
                        WHERE stream = 'record' AND delivered_at IS NOT NULL AND attempts = 1 ORDER BY created_at, id
                        """).decode((String, Date, UUID).self) { out.append((record, at, id)) }
                    return out.map { (record: $0.0, at: $0.1, id: $0.2) }
                }
            }
            // Lane 1's read holds lane 0's too: what lane 1 took is the difference.
            let first = Set(taken[0]!.map(\.id)), all = taken[1]!
            let second = all.filter { !first.contains($0.id) }
            #expect(all.count == 12 * 4, "12 creates and 36 updates: \(all.count)")
            #expect(!first.isEmpty && !second.isEmpty, "both lanes had work: \(first.count) and \(second.count)")
            let lane0Records = Set(taken[0]!.map(\.record)), lane1Records = Set(second.map(\.record))
            #expect(lane0Records.isDisjoint(with: lane1Records))
            #expect(lane0Records.union(lane1Records) == Set(ids))
            #expect(try await w.pending() == 0)
            // One run per update event (logged skipped: the condition is false), none twice.
            let runs = try await w.runs("status=skipped")
            #expect(runs.count == 36)
            #expect(Set(runs.compactMap { $0["event_id"] as? String }).count == 36)
        }
    }
}
