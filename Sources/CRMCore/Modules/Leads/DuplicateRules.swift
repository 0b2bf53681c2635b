import Foundation
import PostgresNIO

/// A tenant's duplicate rules (setting `leads.duplicate_rules`): each compares one normalized
/// key of a new lead with live leads and customers, and either blocks the save or warns.
public struct DuplicateRule: Codable, Sendable, Equatable {
    public enum Field: String, Codable, Sendable, CaseIterable { case phone, email, company }
    public enum Action: String, Codable, Sendable { case block, warn }
    public var field: Field
    public var action: Action

    public init(field: Field, action: Action) {
        self.field = field
        self.action = action
    }

    public static let defaults = [DuplicateRule(field: .phone, action: .block), DuplicateRule(field: .email, action: .block),
                                  DuplicateRule(field: .company, action: .warn)]
}

/// One record that looks like the one being saved.
public struct DuplicateMatch: Codable, Sendable, Equatable {
    public var object: String
    /// Lower case, as record JSON writes ids; nil (and the name withheld) for a record outside
    /// the caller's read scope: the caller learns that a duplicate exists, not whose it is.
    public var id: String?
    public var name: String
    /// The field compared: phone, email or company.
    public var field: String
    /// `exact` (same normalized key) or `similar` (the checked company name's distinctive part
    /// close to a stored name by pg_trgm word similarity; see `LeadsModule.companyCore`).
    public var match: String
    /// What the rule says: block or warn. Similar names only warn.
    public var action: String

    /// As JSON, the members its `Codable` conformance writes (no `id` when withheld), built
    /// directly: through `JSONEncoder` and back it was 6 % of the server's CPU on a lead create.
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["object": .string(object), "name": .string(name), "field": .string(field),
                                            "match": .string(match), "action": .string(action)]
        if let id { members["id"] = .string(id) }
        return .object(members)
    }
}

/// Reads and writes the rules and runs the check: index probes on the normalized keys of
/// leads and customers, and a trigram search for similar company names, in one call.
public struct DuplicateCheck: Sendable {
    /// Stored names whose word similarity with the checked name's distinctive part is at least
    /// this are reported as `similar`.
    public static let similarity = 0.6

    public init() {}

    public func rules(in tx: Transaction) async throws -> [DuplicateRule] { try await LeadsModule.duplicateRules.load(in: tx) }

    /// At most one rule per field.
    static func validate(_ rules: [DuplicateRule]) throws {
        if rules.count > DuplicateRule.Field.allCases.count {
            throw CRMError.invalid("rules", "too_many", "At most one rule per field (\(DuplicateRule.Field.allCases.count)).")
        }
        var seen = Set<DuplicateRule.Field>()
        for (i, rule) in rules.enumerated() where !seen.insert(rule.field).inserted {
            throw CRMError.invalid("rules[\(i)].field", "duplicate", "One rule per field; '\(rule.field.rawValue)' appears twice.")
        }
    }

    /// The longest phone, email and company the checks take, in code points (a lead's fields too).
    public static let maxLengths = ["phone": 50, "email": 254, "company": 200]

    /// The live leads and customers that match `phone`, `email` or `company` under `rules`.
    /// Refuses values too long to be a phone, email or company before any search runs on them.
    public static func checkLengths(phone: String?, email: String?, company: String?) throws {
        var errors = FieldErrors()
        for (name, value) in [("phone", phone), ("email", email), ("company", company)] {
            let max = maxLengths[name]!
            if let value, value.unicodeScalars.count > max { errors.add(name, "too_long", "At most \(max) characters.") }
        }
        try errors.throwIfAny()
    }

    /// `checkLengths` on a lead body's values as sent (before trimming), as the OpenAPI document
    /// states the limits.
    public static func checkLengths(body: [String: JSONValue]) throws {
        func sent(_ key: String) -> String? { if case .string(let s)? = body[key] { return s } else { return nil } }
        try checkLengths(phone: sent("phone"), email: sent("email"), company: sent("company"))
    }

    /// Serializes saves of the same prospect: one advisory lock per normalized key, taken in
    /// order, so two simultaneous creates or registrations cannot both pass a check. Keyed by the
    /// tenant's schema too (the same locks as `crm_lead_check` since leads migration 6): advisory
    /// locks are database-wide, and tenants must not wait on each other's prospects.
    public func lockKeys(phone: String?, email: String?, company: String?, in tx: Transaction) async throws {
        let sql = """
            SELECT count(pg_advisory_xact_lock(hashtext('crm.prospect.' || current_schema()), hashtext(k))) FROM (
                SELECT k FROM unnest(ARRAY[\(LeadsModule.phoneKey("$1::text")), \(LeadsModule.emailKey("$2::text")),
                                          \(LeadsModule.companyKey("$3::text"))]) AS k WHERE k IS NOT NULL ORDER BY k) keys
            """
        var binds = PostgresBindings()
        binds.append(phone)
        binds.append(email)
        binds.append(company)
        try await tx.execute(PostgresQuery(unsafeSQL: sql, binds: binds))
    }

    /// What the check before a save found: another rep's registration holding the prospect
    /// (which ends the check), or the matches under the tenant's rules.
    public enum Outcome: Sendable {
        case reserved(Reservation)
        case matches([DuplicateMatch])
    }

    /// Another rep's pending or approved registration of the prospect, and which key met it.
    public struct Reservation: Sendable {
        public var id: UUID
        public var status: String
        public var until: Date?
        public var field: String
    }

    /// The on-demand check: the matches under the tenant's rules, no locks, no registrations.
    public func find(phone: String?, email: String?, company: String?, caller: RecordCaller, now: Date,
                     in tx: Transaction) async throws -> [DuplicateMatch] {
        guard case .matches(let matches) = try await check(phone: phone, email: email, company: company, excluding: nil, reserve: false,
                                                           caller: caller, now: now, in: tx) else { return [] }
        return matches
    }

    /// One call of the module's `crm_lead_check` (static SQL, plans cached per connection): with
    /// `reserve`, the prospect's advisory locks (held to the end of the transaction, so two
    /// simultaneous saves of one prospect cannot both pass) and the registration check first;
    /// then the rules and the matches of `phone`, `email` and `company`, skipping `excluding`.
    public func check(phone: String?, email: String?, company: String?, excluding: UUID?, reserve: Bool, caller: RecordCaller,
                      now: Date, in tx: Transaction) async throws -> Outcome {
        try Self.checkLengths(phone: phone, email: email, company: company)
        var binds = PostgresBindings()
        binds.append(phone)
        binds.append(email)
        binds.append(company)
        binds.append(excluding)
        binds.append(caller.userId)
        binds.append(now)
        binds.append(reserve)
        binds.append(Self.defaultRulesJSON)
        binds.append(Float(Self.similarity))
        let sql = "SELECT * FROM crm_lead_check($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)"
        var out: [DuplicateMatch] = []
        for try await (kind, object, id, name, field, match, action, owner, until) in try await tx.query(PostgresQuery(unsafeSQL: sql, binds: binds))
            .decode((String, String?, UUID, String?, String?, String, String?, UUID?, Date?).self)
        {
            if kind == "registration" {
                return .reserved(Reservation(id: id, status: match, until: until, field: field ?? "company"))
            }
            let object = object ?? "lead"
            let visible = caller.permissions.reaches(.read, on: object, ownedBy: owner)
            out.append(DuplicateMatch(object: object, id: visible ? id.uuidString.lowercased() : nil,
                                      name: visible ? name ?? "" : "(a record you cannot see)", field: field ?? "company", match: match,
                                      action: action ?? DuplicateRule.Action.warn.rawValue))
        }
        return .matches(out)
    }

    /// The defaults as the check reads them when the tenant has set no rules.
    static let defaultRulesJSON = String(decoding: (try? JSONEncoder().encode(DuplicateRule.defaults)) ?? Data("[]".utf8), as: UTF8.self)
}
