import Foundation
import PostgresNIO

/// The sales module's say in every order write, through the records pipeline:
/// - on create: the number (`SO-{YYYY}-{seq:5}`, gapless), status `draft`, the order date
///   (today in the tenant's time zone) unless sent; a manual order states its amount;
/// - with lines (`order_lines`, from a quote) the amount is their total and cannot be set;
/// - money: the currency must be enabled; the rate of the order date and the base amount follow
///   every change of amount, currency or date;
/// - collection: the amount may not fall below the plans or what is allocated, the currency may
///   not change once plans or allocations exist; collected, outstanding and payment status are
///   recomputed with the amount. A cancelled or closed order no longer changes.
struct OrderWriteHook: RecordHook {
    let object = "order"
    let clock: any WallClock

    static let numbers = try! DocumentNumbers.Pattern("SO-{YYYY}-{seq:5}")

    /// What an update needs of the stored order beyond the write.
    struct Stored {
        var status: String
        var amount: Int64?
        var currency: String?
        var orderDate: String?
        var collected: Int64
        var planned: Int64
        var allocated: Int64
        var lines: (count: Int64, total: Int64)
    }

    func derive(_ w: RecordWrite, in tx: Transaction) async throws -> [String: BoundValue] {
        let creating = w.event == .created
        let now = clock.now()
        let today = OpportunityWriteHook.day(now, w.caller.zone)
        var out: [String: BoundValue] = [:]
        let stored = creating ? nil : try await Self.stored(w.id, in: tx)
        if let stored, ["cancelled", "closed"].contains(stored.status) {
            throw CRMError(CRMError.Code("record-locked"), "A \(stored.status) order no longer changes.")
        }
        if creating {
            out["number"] = .text(try await DocumentNumbers().next("order", pattern: Self.numbers, date: now, zone: w.caller.zone, in: tx))
            out["status"] = .text("draft")
            if w.written("order_date") == nil { out["order_date"] = .text(today) }
        }
        for key in ["order_date", "customer_id"] where !creating && w.values[key]?.1 == .null {
            throw CRMError.invalid(key, "required", "An order always has its \(key).")
        }
        // The amount: the lines' total when there are lines, else as stated.
        var amount: Int64? = stored?.amount
        if let lines = stored?.lines, lines.count > 0 {
            if let sent = Self.integer(w, "amount_minor"), sent != lines.total {
                throw CRMError.invalid("amount_minor", "amount_from_lines", "The order has lines: its amount is their total (\(lines.total)).")
            }
            if stored?.amount != lines.total { out["amount_minor"] = .text(String(lines.total)) }
            amount = lines.total
        } else if w.values["amount_minor"] != nil {
            amount = Self.integer(w, "amount_minor")
        }
        guard let amount else { throw CRMError.invalid("amount_minor", "required", "An order states its amount (minor units).") }
        if let stored {
            if amount < stored.planned {
                throw CRMError.invalid("amount_minor", "below_planned", "The payment plans total \(stored.planned): the amount cannot be less.")
            }
            if amount < stored.allocated {
                throw CRMError.invalid("amount_minor", "below_allocated", "Payments of \(stored.allocated) are allocated to the order.")
            }
            if w.changes("currency"), stored.planned > 0 || stored.allocated > 0 {
                throw CRMError.invalid("currency", "in_use", "The order has payment plans or payments: its currency stays.")
            }
        }
        // Money: the rate of the order date, the base amount.
        let amountChanged = creating || amount != stored?.amount
        if creating || amountChanged || w.changes("currency") || w.changes("order_date") {
            var code = w.text("currency") ?? stored?.currency ?? ""
            if code.isEmpty {
                code = try await Currencies().setup(in: tx).base.code
                out["currency"] = .text(code)
            }
            let (currency, base) = try await Currencies().usable(code, in: tx)
            let day = w.written("order_date") ?? stored?.orderDate ?? today
            let rate = try await Currencies().rate(currency, base: base, on: day, in: tx)
            out["fx_rate"] = .text(NSDecimalNumber(decimal: rate).stringValue)
            out["amount_base_minor"] = .text(String(MoneyMath.convert(amount, from: currency, to: base, rate: rate)))
        }
        if amountChanged {
            let collected = stored?.collected ?? 0
            out["collected_minor"] = .text(String(collected))
            out["outstanding_minor"] = .text(String(amount - collected))
            out["payment_status"] = .text(OrderCollection.paymentStatus(amount: amount, collected: collected))
        }
        return out
    }

    func beforeDelete(_ delete: RecordDelete, in tx: Transaction) async throws {
        let stored = try await Self.stored(delete.id, in: tx)
        if stored.allocated > 0 || stored.collected > 0 {
            throw CRMError.conflict("Payments are allocated to this order: cancel or void them first.")
        }
    }

    /// The integer a write sets for `key` (nil when unset or null).
    static func integer(_ w: RecordWrite, _ key: String) -> Int64? {
        if case .text(let t)? = w.values[key]?.1 { return Int64(t) }
        return nil
    }

    static func stored(_ id: UUID, in tx: Transaction) async throws -> Stored {
        for try await (status, amount, currency, date, collected, planned, allocated, lineCount, lineTotal) in try await tx.query("""
            SELECT o.status, o.amount_minor, o.currency, o.order_date::text, o.collected_minor,
                   (SELECT COALESCE(sum(planned_minor), 0)::int8 FROM payment_plans WHERE order_id = o.id AND status <> 'cancelled'),
                   (SELECT COALESCE(sum(amount_minor), 0)::int8 FROM payment_allocations WHERE order_id = o.id AND state <> 'reversed'),
                   (SELECT count(*) FROM order_lines WHERE order_id = o.id),
                   (SELECT COALESCE(sum(line_total_minor), 0)::int8 FROM order_lines WHERE order_id = o.id)
            FROM sales_orders o WHERE o.id = \(id)
            """).decode((String?, Int64?, String?, String?, Int64?, Int64, Int64, Int64, Int64).self) {
            return Stored(status: status ?? "draft", amount: amount, currency: currency, orderDate: date, collected: collected ?? 0,
                          planned: planned, allocated: allocated, lines: (lineCount, lineTotal))
        }
        throw CRMError.notFound("No such order.")
    }
}
