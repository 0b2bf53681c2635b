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
    /// `exact` (same normalized key) or `similar` (company names close by trigram similarity).
    public var match: String
    /// What the rule says: block or warn. Similar names only warn.
    public var action: String
}

/// Reads and writes the rules and runs the check: index probes on the normalized keys of
/// leads and customers, and a trigram search for similar company names, in one statement.
public struct DuplicateCheck: Sendable {
    static let settingKey = "leads.duplicate_rules"
    /// Company names at least this similar (pg_trgm) are reported as `similar`.
    public static let similarity = 0.6

    public init() {}

    public func rules(in tx: Transaction) async throws -> [DuplicateRule] {
        for try await text in try await tx.query("SELECT value::text FROM settings WHERE key = \(Self.settingKey)").decode(String.self) {
            return (try? JSONDecoder().decode([DuplicateRule].self, from: Data(text.utf8))) ?? DuplicateRule.defaults
        }
        return DuplicateRule.defaults
    }

    public func setRules(_ rules: [DuplicateRule], in tx: Transaction) async throws {
        var seen = Set<DuplicateRule.Field>()
        for (i, rule) in rules.enumerated() where !seen.insert(rule.field).inserted {
            throw CRMError.invalid("rules[\(i)].field", "duplicate", "One rule per field; '\(rule.field.rawValue)' appears twice.")
        }
        let json = String(decoding: try JSONEncoder().encode(rules), as: UTF8.self)
        try await tx.execute("""
            INSERT INTO settings (key, value) VALUES (\(Self.settingKey), \(json)::jsonb)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
            """)
    }

    /// The live leads and customers that match `phone`, `email` or `company` under `rules`.
    /// Refuses values too long to be a phone, email or company before any search runs on them.
    public static func checkLengths(phone: String?, email: String?, company: String?) throws {
        var errors = FieldErrors()
        for (name, value, max) in [("phone", phone, 50), ("email", email, 254), ("company", company, 200)] {
            if let value, value.count > max { errors.add(name, "too_long", "At most \(max) characters.") }
        }
        try errors.throwIfAny()
    }

    /// Serializes saves of the same prospect: one advisory lock per normalized key, taken in
    /// order, so two simultaneous creates or registrations cannot both pass a check.
    public func lockKeys(phone: String?, email: String?, company: String?, in tx: Transaction) async throws {
        let sql = """
            SELECT count(pg_advisory_xact_lock(hashtext('crm.prospect'), hashtext(k))) FROM (
                SELECT k FROM unnest(ARRAY[\(LeadsModule.phoneKey("$1::text")), \(LeadsModule.emailKey("$2::text")),
                                          \(LeadsModule.companyKey("$3::text"))]) AS k WHERE k IS NOT NULL ORDER BY k) keys
            """
        var binds = PostgresBindings()
        binds.append(phone)
        binds.append(email)
        binds.append(company)
        try await tx.execute(PostgresQuery(unsafeSQL: sql, binds: binds))
    }

    public func find(phone: String?, email: String?, company: String?, excluding: UUID?, rules: [DuplicateRule],
                     caller: RecordCaller, in tx: Transaction) async throws -> [DuplicateMatch] {
        try Self.checkLengths(phone: phone, email: email, company: company)
        let action = Dictionary(uniqueKeysWithValues: rules.map { ($0.field, $0.action) })
        guard !action.isEmpty else { return [] }
        // Keys computed by the same SQL as the stored columns; unused ones are NULL and match nothing.
        let p = action[.phone] == nil ? nil : phone, e = action[.email] == nil ? nil : email, c = action[.company] == nil ? nil : company
        // One call of the module's function (static SQL, plans cached per connection).
        let sql = "SELECT * FROM crm_duplicates($1, $2, $3, $4, $5) LIMIT 50"
        var binds = PostgresBindings()
        binds.append(p)
        binds.append(e)
        binds.append(c)
        binds.append(excluding)
        binds.append(Float(Self.similarity))
        var out: [DuplicateMatch] = []
        for try await (object, id, name, field, match, owner) in try await tx.query(PostgresQuery(unsafeSQL: sql, binds: binds))
            .decode((String, UUID, String, String, String, UUID?).self)
        {
            let rule = DuplicateRule.Field(rawValue: field).flatMap { action[$0] } ?? .warn
            let visible = caller.permissions.reaches(.read, on: object, ownedBy: owner)
            out.append(DuplicateMatch(object: object, id: visible ? id.uuidString.lowercased() : nil,
                                      name: visible ? name : "(a record you cannot see)", field: field, match: match,
                                      action: match == "exact" ? rule.rawValue : DuplicateRule.Action.warn.rawValue))
        }
        return out
    }
}
