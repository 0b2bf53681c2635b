import Foundation
import PostgresNIO

/// The daily quote expiry (`sales.quote_expiry`): quotes still open to the customer (draft,
/// approved, sent) whose `valid_until` is before today in the tenant's time zone become
/// `expired`, in one set-based write with each quote's history and change event. A second run
/// the same day finds nothing to change. Quotes waiting for approval are left to their request.
public struct QuoteExpiry: Sendable {
    public static let origin = "sales.quote_expiry"
    let hooks: RecordHooks

    /// Quotes expired.
    @discardableResult
    func run(now: Date, zone: TimeZone, in tx: Transaction) async throws -> Int {
        let today = SalesInput.day(now, zone)
        return try await SystemWrite(object: "quote", table: try SQLIdentifier("quotes"),
                                     set: [.init(field: "status", column: "status", .text("expired"))], hooks: hooks)
            .run(where: { q in
                q.append("t.status IN ('draft', 'approved', 'sent') AND t.valid_until < \(try q.bind(today))::date")
            }, actor: .system(Self.origin), at: now, in: tx).count
    }
}

extension SalesModule {
    public static let quoteExpiry = "sales.quote_expiry"

    /// Daily at 00:10 in the tenant's time zone.
    static let quoteExpiryJob = ModuleJob(kind: quoteExpiry, cron: "10 0 * * *") { ctx, services, tx in
        let n = try await QuoteExpiry(hooks: services.records.hooks).run(now: ctx.clock.now(), zone: ctx.tenant?.zone ?? .gmt, in: tx)
        ctx.logger.info("quote expiry", metadata: ["expired": "\(n)"])
    }
}
