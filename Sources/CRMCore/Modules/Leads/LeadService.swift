import Foundation
import PostgresNIO

/// The leads module's services: lead creation with the duplicate check, the on-demand check,
/// and the public pool.
public struct LeadService: Sendable {
    let records: RecordService
    public let duplicates = DuplicateCheck()
    public let pool: PublicPool
    public let registrations: Registrations
    let clock: any WallClock

    public init(records: RecordService, clock: any WallClock) {
        self.records = records
        self.pool = PublicPool(clock: clock)
        self.registrations = Registrations(clock: clock)
        self.clock = clock
    }

    /// A saved lead and the matches that only warned.
    public struct Created: Sendable {
        public var record: RecordService.Fetched
        public var warnings: [DuplicateMatch]
    }

    /// Creates a lead after the duplicate check. A blocking match refuses the save (409 listing
    /// the matches) unless `override` is asked by a caller with `override_duplicates`.
    public func create(body: [String: JSONValue], override: Bool, caller: RecordCaller, in tx: Transaction) async throws -> Created {
        _ = try records.creatable("lead", caller: caller)
        func text(_ key: String) -> String? { if case .string(let s)? = body[key] { return s } else { return nil } }
        try DuplicateCheck.checkLengths(phone: text("phone"), email: text("email"), company: text("company"))
        try await duplicates.lockKeys(phone: text("phone"), email: text("email"), company: text("company"), in: tx)
        // A prospect another rep has registered is theirs while the reservation lasts.
        if let held = try await registrations.blocking(company: text("company"), phone: text("phone"), email: text("email"),
                                                       except: caller.userId, now: clock.now(), in: tx) {
            var error = CRMError.conflict(held.status == "approved"
                ? "This prospect is reserved for another rep until \(PublicPool.day(held.reservedUntil ?? clock.now()))."
                : "Another rep has registered this prospect; it awaits a decision.")
            error.extensions["registration_id"] = .string(held.id)
            throw error
        }
        let rules = try await duplicates.rules(in: tx)
        let matches = try await duplicates.find(phone: text("phone"), email: text("email"), company: text("company"), excluding: nil,
                                                rules: rules, caller: caller, in: tx)
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

extension LeadService {
    /// What a conversion made.
    public struct Converted: Sendable {
        public var lead: RecordService.Fetched
        public var customer: RecordService.Fetched
        public var contact: RecordService.Fetched?
    }

    /// Converts a lead into a customer (new, or `customerId` when given) and a contact, and marks
    /// the lead converted. The lead stays, with its history and a link to what it became.
    public func convert(_ id: UUID, customerId: UUID?, createContact: Bool, caller: RecordCaller, in tx: Transaction) async throws -> Converted {
        let current = try await records.get("lead", id: id, caller: caller, in: tx)
        guard case .object(let lead)? = JSONValue.parse(current.json) else { throw CRMError.notFound("No such lead.") }
        if case .string("converted")? = lead["status"] { throw CRMError.conflict("This lead was converted already.") }
        func value(_ key: String) -> JSONValue? { if let v = lead[key], v != .null { return v } else { return nil } }
        let customer: RecordService.Fetched
        if let customerId {
            customer = try await records.get("customer", id: customerId, caller: caller, in: tx)
        } else {
            var body: [String: JSONValue] = ["name": value("company") ?? value("name") ?? .string("?"),
                                             "kind": .string(value("company") == nil ? "person" : "company")]
            for key in ["phone", "email", "source"] { if let v = value(key) { body[key] = v } }
            customer = try await records.create("customer", body: body, caller: caller, in: tx)
        }
        guard case .object(let c)? = JSONValue.parse(customer.json), case .string(let newCustomer)? = c["id"],
              let customerUUID = UUID(uuidString: newCustomer) else { throw CRMError.conflict("The customer could not be read back.") }
        var contact: RecordService.Fetched?
        var contactUUID: UUID?
        if createContact {
            var body: [String: JSONValue] = ["customer_id": .string(newCustomer), "name": value("name") ?? .string("?")]
            for key in ["title", "phone", "email"] { if let v = value(key) { body[key] = v } }
            let made = try await records.create("contact", body: body, caller: caller, in: tx)
            contact = made
            if case .object(let o)? = JSONValue.parse(made.json), case .string(let s)? = o["id"] { contactUUID = UUID(uuidString: s) }
        }
        // The status change goes through the records engine (history, version); the links are system fields.
        // If-Match on the version read above: of two simultaneous conversions, the second gets 412.
        _ = try await records.update("lead", id: id, body: ["status": .string("converted")], ifMatch: current.version, caller: caller, in: tx)
        try await tx.execute("""
            UPDATE leads SET converted_at = \(clock.now()), converted_customer_id = \(customerUUID), converted_contact_id = \(contactUUID)
            WHERE id = \(id)
            """)
        let lead2 = try await records.get("lead", id: id, caller: caller, in: tx)
        return Converted(lead: lead2, customer: customer, contact: contact)
    }
}

extension JSONValue {
    /// Any Encodable as a JSON value.
    static func encoding<T: Encodable>(_ value: T) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }
}
