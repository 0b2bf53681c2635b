import Foundation
import PostgresNIO

/// A product's price is in a currency this company uses: the currency must be known and enabled
/// (400 naming `currency`), and a product given a list price or cost without one takes the base.
struct ProductWriteHook: RecordHook {
    let object = "product"

    func derive(_ w: RecordWrite, in tx: Transaction) async throws -> [String: BoundValue] {
        guard w.event == .created || w.changes("currency") || w.changes("list_price_minor") || w.changes("cost_minor") else { return [:] }
        if let code = w.text("currency"), !code.isEmpty {
            if w.event == .created || w.changes("currency") { _ = try await Currencies().usable(code, in: tx) }
            return [:]
        }
        guard w.text("list_price_minor") != nil || w.text("cost_minor") != nil || w.before["list_price_minor"].map({ !$0.isNull }) == true else { return [:] }
        return ["currency": .text(try await Currencies().setup(in: tx).base.code)]
    }
}
