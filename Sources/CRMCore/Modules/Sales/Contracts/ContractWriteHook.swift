import Foundation
import PostgresNIO

/// The sales module's say in every contract write, through the records pipeline:
/// - on create: the number (`sales.contract_number_pattern`, gapless), status `draft`; a renewal
///   (made by POST …/renew) is linked to the contract it renews;
/// - the term: the end date is not before the start date (400 naming `end_date`), and the term in
///   months follows the two dates;
/// - money: the currency must be enabled (default: the base currency); with an amount, the rate
///   of the start date (today without one) and the base amount;
/// - only a draft changes its terms and money: a signed contract keeps them (409 `record-locked`);
///   an expired, terminated or renewed one no longer changes at all. Status and the signing,
///   termination and renewal facts are set by the calls (`ContractActions`) and the daily job.
struct ContractWriteHook: RecordHook {
    let object = "contract"
    let clock: any WallClock

    /// An option module code passes to `records.create` (not a client parameter).
    static let renewalOf = "sales.renewal_of", terminatedOn = "sales.terminated_on"
    static let terms = ["customer_id", "start_date", "end_date", "currency", "amount_minor"]

    static func status(_ id: UUID, in tx: Transaction) async throws -> String? {
        for try await s in try await tx.query("SELECT coalesce(status, 'draft') FROM sales_contracts WHERE id = \(id)").decode(String.self) {
            return s
        }
        return nil
    }

    /// The amount after the write: the value written, else the stored one.
    static func amount(_ w: RecordWrite) -> Int64? {
        if let (_, value) = w.values["amount_minor"] {
            if case .text(let t) = value { return Int64(t) }
            return nil
        }
        if case .number(let n)? = w.before["amount_minor"] { return NSDecimalNumber(decimal: n).int64Value }
        return nil
    }

    func derive(_ w: RecordWrite, in tx: Transaction) async throws -> [String: BoundValue] {
        let creating = w.event == .created
        let now = clock.now()
        var out: [String: BoundValue] = [:]
        if let day = w.options[Self.terminatedOn] { return ["terminated_on": .text(day)] }
        if !creating, let status = try await Self.status(w.id, in: tx), status != "draft" {
            let locked = status == "active" ? Self.terms.filter { w.changes($0) } : Array(w.values.keys.sorted())
            if !locked.isEmpty {
                throw CRMError(CRMError.Code("record-locked"),
                               status == "active" ? "A signed contract keeps its terms: renew or terminate it." : "A \(status) contract no longer changes.",
                               fieldErrors: locked.map { FieldError(field: $0, code: "locked", message: "The contract is \(status).") })
            }
            return [:]
        }
        if creating {
            let pattern = try DocumentNumbers.Pattern(try await SalesModule.contractNumberPattern.load(in: tx))
            out["number"] = .text(try await DocumentNumbers().next("contract", pattern: pattern, date: now, zone: w.caller.zone, in: tx))
            out["status"] = .text("draft")
            if let from = w.options[Self.renewalOf] { out["renewed_from_id"] = .text(from) }
        }
        if !creating && w.values["customer_id"]?.1 == .null {
            throw CRMError.invalid("customer_id", "required", "A contract always has its customer.")
        }
        // The term.
        let start = w.text("start_date"), end = w.text("end_date")
        if let start, let end, end < start {
            throw CRMError.invalid("end_date", "before_start", "The end date (\(end)) is before the start date (\(start)).")
        }
        if creating || w.changes("start_date") || w.changes("end_date") {
            if let start, let end, let months = ContractTerm.months(from: start, to: end) {
                out["term_months"] = .text(String(months))
            } else {
                out["term_months"] = .null
            }
        }
        // Money: base amount at the start date's rate.
        if creating || w.changes("currency") || w.changes("amount_minor") || w.changes("start_date") {
            var code = w.text("currency") ?? ""
            if code.isEmpty {
                code = try await Currencies().setup(in: tx).base.code
                out["currency"] = .text(code)
            }
            let (currency, base) = try await Currencies().usable(code, in: tx)
            if let amount = Self.amount(w) {
                let rate = try await Currencies().rate(currency, base: base, on: start ?? SalesInput.day(now, w.caller.zone), in: tx)
                out["fx_rate"] = .text(SalesInput.text(rate))
                out["amount_base_minor"] = .text(String(MoneyMath.convert(amount, from: currency, to: base, rate: rate)))
            } else {
                out["fx_rate"] = .null
                out["amount_base_minor"] = .null
            }
        }
        return out
    }
}
