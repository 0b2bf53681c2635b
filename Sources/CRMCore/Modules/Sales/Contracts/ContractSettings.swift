import Foundation

/// The contract settings, the daily contract job and the 360° panel of active contracts.
extension SalesModule {
    public static let contractNumberPattern = Setting<String>(module: id, name: "contract_number_pattern", default: "C-{YYYY}-{seq:5}") {
        _ = try DocumentNumbers.Pattern($0, field: "contract_number_pattern")
    }
    /// Whether an active contract past its end date turns `expired` by itself (not every company
    /// works this way: Cordys CRM #2888). Renewal opportunities are raised either way.
    public static let contractAutoExpire = Setting<Bool>(module: id, name: "contract_auto_expire", default: true)

    public static let contractDates = "sales.contract_dates"

    /// Daily at 00:20 in the tenant's time zone.
    static let contractDatesJob = ModuleJob(kind: contractDates, cron: "20 0 * * *") { ctx, services, tx in
        guard let tenant = ctx.tenant else { return }
        let result = try await ContractDates(services: services).run(now: ctx.clock.now(), tenant: tenant,
                                                                     autoExpire: try await contractAutoExpire.load(in: tx), in: tx)
        ctx.logger.info("contract dates", metadata: ["expired": "\(result.expired)", "renewals": "\(result.renewals)",
                                                      "skipped": "\(result.skipped)"])
    }

    static let activeContractsPanel = CustomerPanel(key: "active_contracts", object: "contract", column: "customer_id", sort: "end_date",
                                                    limit: 10, filterField: "status", filterValues: ["active"])
}
