import Foundation
import PostgresNIO

/// The leads module's services: conversion, the on-demand duplicate check, registrations and
/// the public pool. Lead creates and updates are the records API's, with `LeadWriteHook`.
public struct LeadService: Sendable {
    let records: RecordService
    public let duplicates = DuplicateCheck()
    public let pool: PublicPool
    public let registrations: Registrations
    let clock: any WallClock

    public init(records: RecordService, clock: any WallClock) {
        self.records = records
        self.pool = PublicPool(clock: clock, hooks: records.hooks)
        self.registrations = Registrations(clock: clock)
        self.clock = clock
    }

}

extension LeadService {
    /// What a conversion made.
    public struct Converted: Sendable {
        public var lead: RecordService.Fetched
        public var customer: RecordService.Fetched
        public var contact: RecordService.Fetched?
        /// The opportunity made with it, when asked for (sales module on).
        public var opportunity: RecordService.Fetched?
    }

    /// Converts a lead into a customer (new, or `customerId` when given) and a contact, and marks
    /// the lead converted. The lead stays, with its history and a link to what it became.
    /// `opportunity`, when given, makes an opportunity for the customer too (the sales module's
    /// object: its fields, the default pipeline's first stage unless they say otherwise), with
    /// the lead's source; its field errors are named `opportunity.<field>`.
    public func convert(_ id: UUID, customerId: UUID?, createContact: Bool, opportunity: [String: JSONValue]? = nil, caller: RecordCaller,
                        in tx: Transaction) async throws -> Converted {
        if opportunity != nil, (try? caller.metadata.object("opportunity")) == nil {
            throw CRMError.invalid("opportunity", "module_disabled", "Opportunities need the sales module on.")
        }
        let current = try await records.get("lead", id: id, caller: caller, in: tx)
        guard case .object(let lead)? = JSONValue.parse(current.json) else { throw CRMError.notFound("No such lead.") }
        if case .string("converted")? = lead["status"] { throw CRMError.conflict("This lead was converted already.") }
        func value(_ key: String) -> JSONValue? { if let v = lead[key], v != .null { return v } else { return nil } }
        let customer: RecordService.Fetched
        let origin = LeadWriteHook.conversion
        if let customerId {
            customer = try await records.get("customer", id: customerId, caller: caller, in: tx)
        } else {
            var body: [String: JSONValue] = ["name": value("company") ?? value("name") ?? .string("?"),
                                             "kind": .string(value("company") == nil ? "person" : "company")]
            for key in ["phone", "email", "source"] { if let v = value(key) { body[key] = v } }
            customer = try await records.create("customer", body: body, origin: origin, caller: caller, in: tx)
        }
        guard case .object(let c)? = JSONValue.parse(customer.json), case .string(let newCustomer)? = c["id"],
              let customerUUID = UUID(uuidString: newCustomer) else { throw CRMError.conflict("The customer could not be read back.") }
        var contact: RecordService.Fetched?
        var contactUUID: UUID?
        if createContact {
            var body: [String: JSONValue] = ["customer_id": .string(newCustomer), "name": value("name") ?? .string("?")]
            for key in ["title", "phone", "email"] { if let v = value(key) { body[key] = v } }
            let made = try await records.create("contact", body: body, origin: origin, caller: caller, in: tx)
            contact = made
            if case .object(let o)? = JSONValue.parse(made.json), case .string(let s)? = o["id"] { contactUUID = UUID(uuidString: s) }
        }
        // The status and the links in one write through the records engine (the caller's update
        // reach, history, version, one change event). If-Match on the version read above: of two
        // simultaneous conversions, the second gets 412.
        _ = try await records.update("lead", id: id, body: ["status": .string("converted")], ifMatch: current.version, origin: origin,
                                     system: [SystemWrite.Assignment(field: "converted_at", column: "converted_at", .date(clock.now())),
                                              SystemWrite.Assignment(field: "converted_customer_id", column: "converted_customer_id", .uuid(customerUUID)),
                                              SystemWrite.Assignment(field: "converted_contact_id", column: "converted_contact_id", .uuid(contactUUID))],
                                     caller: caller, in: tx)
        var deal: RecordService.Fetched?
        if var body = opportunity {
            body["customer_id"] = .string(newCustomer)
            if body["name"] == nil { body["name"] = value("company") ?? value("name") ?? .string("?") }
            if body["contact_id"] == nil, let contactUUID { body["contact_id"] = .string(contactUUID.uuidString.lowercased()) }
            if body["source"] == nil, let source = value("source") { body["source"] = source }
            do {
                deal = try await records.create("opportunity", body: body, origin: origin, caller: caller, in: tx)
            } catch var error as CRMError {
                error.fieldErrors = error.fieldErrors.map { FieldError(field: "opportunity.\($0.field)", code: $0.code, message: $0.message) }
                throw error
            }
        }
        let lead2 = try await records.get("lead", id: id, caller: caller, in: tx)
        return Converted(lead: lead2, customer: customer, contact: contact, opportunity: deal)
    }
}

extension JSONValue {
    /// Any Encodable as a JSON value.
    static func encoding<T: Encodable>(_ value: T) throws -> JSONValue {
        let data = try JSONEncoder().encode(value)
        guard let parsed = JSONValue.parse(String(decoding: data, as: UTF8.self)) else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Not JSON."))
        }
        return parsed
    }
}
