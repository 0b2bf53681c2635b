import Foundation
import PostgresNIO

/// The leads module's services: lead creation with the duplicate check, the on-demand check,
/// and the public pool.
public struct LeadService: Sendable {
    let records: RecordService
    public let duplicates = DuplicateCheck()
    public let pool: PublicPool

    public init(records: RecordService, clock: any WallClock) {
        self.records = records
        self.pool = PublicPool(clock: clock)
    }

    /// A saved lead and the matches that only warned.
    public struct Created: Sendable {
        public var record: RecordService.Fetched
        public var warnings: [DuplicateMatch]
    }

    /// Creates a lead after the duplicate check. A blocking match refuses the save (409 listing
    /// the matches) unless `override` is asked by a caller with `override_duplicates`.
    public func create(body: [String: JSONValue], override: Bool, caller: RecordCaller, in tx: Transaction) async throws -> Created {
        _ = try caller.readable("lead")
        func text(_ key: String) -> String? { if case .string(let s)? = body[key] { return s } else { return nil } }
        let rules = try await duplicates.rules(in: tx)
        let matches = try await duplicates.find(phone: text("phone"), email: text("email"), company: text("company"), excluding: nil,
                                                rules: rules, in: tx)
        let blocking = matches.filter { $0.action == DuplicateRule.Action.block.rawValue }
        if !blocking.isEmpty {
            guard override else {
                var error = CRMError.conflict(
                    "This lead matches \(blocking.count) existing record(s) under a blocking duplicate rule."
                    + (caller.permissions.has(.overrideDuplicates) ? " Send allow_duplicates=true to save it anyway." : ""))
                error.extensions["duplicates"] = try JSONValue.encoding(matches)
                error.extensions["may_override"] = .bool(caller.permissions.has(.overrideDuplicates))
                throw error
            }
            guard caller.permissions.has(.overrideDuplicates) else {
                throw CRMError.forbidden("Saving a blocked duplicate needs the override_duplicates capability.")
            }
        }
        let record = try await records.create("lead", body: body, caller: caller, in: tx)
        return Created(record: record, warnings: override ? matches : matches.filter { $0.action != DuplicateRule.Action.block.rawValue })
    }
}

extension JSONValue {
    /// Any Encodable as a JSON value.
    static func encoding<T: Encodable>(_ value: T) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }
}
