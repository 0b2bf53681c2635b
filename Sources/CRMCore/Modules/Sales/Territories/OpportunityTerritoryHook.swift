import Foundation
import PostgresNIO

/// A new opportunity takes its customer's territory (kept afterwards: a later reassignment of the
/// customer moves the customer, not its deals, so forecasts by territory stay as they were).
struct OpportunityTerritoryHook: RecordHook {
    let object = "opportunity"

    func derive(_ w: RecordWrite, in tx: Transaction) async throws -> [String: BoundValue] {
        guard w.event == .created, let text = w.written("customer_id"), let customer = UUID(uuidString: text) else { return [:] }
        for try await territory in try await tx.query("SELECT territory_id FROM customers WHERE id = \(customer)").decode(UUID?.self) {
            return territory.map { ["territory_id": .text($0.uuidString.lowercased())] } ?? [:]
        }
        return [:]
    }
}
