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
    public struct Saved: Sendable {
        public var record: RecordService.Fetched
        public var warnings: [DuplicateMatch]
    }

    /// The fields the duplicate check compares.
    static let checkedFields = ["phone", "email", "company"]

    /// Creates a lead after the duplicate check. A blocking match refuses the save (409 listing
    /// the matches) unless `override` is asked by a caller with `override_duplicates`.
    public func create(body: [String: JSONValue], override: Bool, caller: RecordCaller, in tx: Transaction) async throws -> Saved {
        let object = try records.creatable("lead", caller: caller)
        // The rules judge the values as they will be stored (trimmed, checked): the whole body is
        // checked first, so a bad value is its 400 before any lock or search.
        let values = try records.checkWrite(object, body: body, creating: true, caller: caller)
        try DuplicateCheck.checkLengths(body: body)
        func text(_ key: String) -> String? { if case .text(let s)? = values[key]?.1 { return s } else { return nil } }
        try Self.refuseConversion(text("status"))
        let outcome = try await duplicates.check(phone: text("phone"), email: text("email"), company: text("company"), excluding: nil,
                                                 reserve: true, caller: caller, now: clock.now(), in: tx)
        let warnings = try admit(outcome, override: override, caller: caller)
        return Saved(record: try await records.create("lead", body: body, caller: caller, in: tx), warnings: warnings)
    }

    /// Updates a lead through the records engine, then checks the phone, email and company it
    /// changed as a create would (the same locks, registrations and rules); a refusal rolls the
    /// request's transaction back. The status `converted` is the convert call's alone, and a
    /// converted lead keeps it.
    public func update(_ id: UUID, body: [String: JSONValue], ifMatch: Int64?, override: Bool, caller: RecordCaller,
                       in tx: Transaction) async throws -> Saved {
        let object = try caller.readable("lead")
        try Self.refuseConversion(Self.stored("status", in: body, object: object))
        try DuplicateCheck.checkLengths(body: body)
        var before: [String: String?] = [:]
        var status: String?
        for try await (phone, email, company, current) in try await tx.query(
            "SELECT phone, email, company, status FROM leads WHERE id = \(id) AND deleted_at IS NULL").decode((String?, String?, String?, String).self)
        {
            before = ["phone": phone, "email": email, "company": company]
            status = current
        }
        // The records engine answers first for a lead the caller may not see or change (404, 403, 412, 400).
        let record = try await records.update("lead", id: id, body: body, ifMatch: ifMatch, caller: caller, in: tx)
        if status == "converted", body["status"] != nil, Self.stored("status", in: body, object: object) != "converted" {
            throw CRMError(.conflict, "A converted lead keeps its status.", fieldErrors: [
                FieldError(field: "status", code: "converted", message: "This lead was converted; its status no longer changes.")])
        }
        var changed: [String: String] = [:]
        for key in Self.checkedFields {
            guard let value = Self.stored(key, in: body, object: object) else { continue }
            if !value.isEmpty, value != (before[key] ?? nil) { changed[key] = value }
        }
        guard !changed.isEmpty else { return Saved(record: record, warnings: []) }
        let outcome = try await duplicates.check(phone: changed["phone"], email: changed["email"], company: changed["company"], excluding: id,
                                                 reserve: true, caller: caller, now: clock.now(), in: tx)
        return Saved(record: record, warnings: try admit(outcome, override: override, caller: caller))
    }

    /// `body[key]` as the records engine stores it (the parsed value: trimmed, checked); nil when
    /// absent, null or invalid (the engine answers those).
    static func stored(_ key: String, in body: [String: JSONValue], object: ObjectDefinition) -> String? {
        guard let value = body[key], let field = object.field(key),
              case .success(.text(let text)) = FieldValueParser.parse(value, for: field) else { return nil }
        return text
    }

    /// Only the convert call sets `converted` (it links the customer and contact it made); the
    /// parsed status is compared, so " converted" is refused too.
    static func refuseConversion(_ status: String?) throws {
        if status == "converted" {
            throw CRMError.invalid("status", "invalid_value", "Leads are converted with POST /api/v1/leads/{id}/convert, not by setting the status.")
        }
    }

    /// The warnings to return with the save, or the refusal: another rep's registration, or a
    /// blocking match without an allowed override. Refusals name the fields that matched.
    func admit(_ outcome: DuplicateCheck.Outcome, override: Bool, caller: RecordCaller) throws -> [DuplicateMatch] {
        switch outcome {
        case .reserved(let held):
            var error = CRMError(.conflict, held.status == "approved"
                ? "This prospect is reserved for another rep until \(PublicPool.day(held.until ?? clock.now()))."
                : "Another rep has registered this prospect; it awaits a decision.",
                fieldErrors: [FieldError(field: held.field, code: "reserved", message: "Another rep's registration holds this \(held.field).")])
            error.extensions["registration_id"] = .string(held.id.uuidString.lowercased())
            throw error
        case .matches(let matches):
            let blocking = matches.filter { $0.action == DuplicateRule.Action.block.rawValue }
            guard !blocking.isEmpty else { return matches }
            guard override else {
                let fields = DuplicateRule.Field.allCases.map(\.rawValue).filter { f in blocking.contains { $0.field == f } }
                var error = CRMError(.conflict,
                    "This lead matches \(blocking.count) existing record(s) under a blocking duplicate rule."
                    + (caller.permissions.has(.overrideDuplicates) ? " Send allow_duplicates=true to save it anyway." : ""),
                    fieldErrors: fields.map { FieldError(field: $0, code: "duplicate", message: "An existing lead or customer has this \($0).") })
                error.extensions["duplicates"] = try JSONValue.encoding(matches)
                error.extensions["may_override"] = .bool(caller.permissions.has(.overrideDuplicates))
                throw error
            }
            guard caller.permissions.has(.overrideDuplicates) else {
                throw CRMError.forbidden("Saving a blocked duplicate needs the override_duplicates capability.")
            }
            return matches
        }
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
