import Foundation
import PostgresNIO

/// Registration of a prospect (报备). A rep registers a company; a manager (`approve` on
/// leads) approves or rejects; an approved registration reserves the prospect for that rep for
/// `leads.registration_days` days (default 30): nobody else may register it or create a lead
/// matching it (by company name, phone or email, normalized) until then.
public struct Registrations: Sendable {
    let clock: any WallClock
    public static let defaultDays = 30

    public init(clock: any WallClock) { self.clock = clock }

    public struct Input: Decodable, Sendable {
        public var company: String
        public var contactName: String?
        public var phone: String?
        public var email: String?
        public var note: String?
        enum CodingKeys: String, CodingKey { case company, phone, email, note; case contactName = "contact_name" }
    }

    public struct View: Codable, Sendable, Equatable {
        public var id: String
        public var company: String
        public var contactName: String?
        public var phone: String?
        public var email: String?
        public var note: String?
        public var requestedBy: String
        public var status: String
        public var decidedBy: String?
        public var decidedAt: Date?
        public var reservedUntil: Date?
        public var createdAt: Date
        enum CodingKeys: String, CodingKey {
            case id, company, phone, email, note, status
            case contactName = "contact_name", requestedBy = "requested_by", decidedBy = "decided_by", decidedAt = "decided_at"
            case reservedUntil = "reserved_until", createdAt = "created_at"
        }
    }

    static let columns = """
        id, company, contact_name, phone, email, note, requested_by, status, decided_by, decided_at, reserved_until, created_at
        """

    func decode(_ rows: PostgresRowSequence) async throws -> [View] {
        var out: [View] = []
        for try await (id, company, contact, phone, email, note, by, status, decidedBy, decidedAt, until, created) in rows.decode(
            (UUID, String, String?, String?, String?, String?, UUID, String, UUID?, Date?, Date?, Date).self)
        {
            out.append(View(id: id.uuidString.lowercased(), company: company, contactName: contact, phone: phone, email: email, note: note,
                            requestedBy: by.uuidString.lowercased(), status: status, decidedBy: decidedBy?.uuidString.lowercased(),
                            decidedAt: decidedAt, reservedUntil: until, createdAt: created))
        }
        return out
    }

    /// A live reservation or pending request by someone other than `user` on the same prospect.
    public func blocking(company: String?, phone: String?, email: String?, except user: UUID, now: Date,
                         in tx: Transaction) async throws -> View? {
        let sql = """
            WITH k AS (SELECT \(LeadsModule.phoneKey("$1::text")) AS p, \(LeadsModule.emailKey("$2::text")) AS e,
                              \(LeadsModule.companyKey("$3::text")) AS c)
            SELECT \(Self.columns) FROM registrations r, k
            WHERE r.requested_by <> $4 AND (r.status = 'pending' OR (r.status = 'approved' AND r.reserved_until > $5))
              AND (r.company_key = k.c OR r.phone_key = k.p OR r.email_key = k.e)
            ORDER BY r.created_at LIMIT 1
            """
        var binds = PostgresBindings()
        binds.append(phone)
        binds.append(email)
        binds.append(company)
        binds.append(user)
        binds.append(now)
        return try await decode(try await tx.query(PostgresQuery(unsafeSQL: sql, binds: binds))).first
    }

    public func register(_ input: Input, caller: RecordCaller, in tx: Transaction) async throws -> View {
        guard caller.permissions.may(.create, on: "lead") else { throw CRMError.forbidden("You may not register prospects.") }
        var errors = FieldErrors()
        let company = input.company.trimmingCharacters(in: .whitespacesAndNewlines)
        if company.isEmpty { errors.add("company", "required", "Name the company.") }
        if company.count > 200 { errors.add("company", "too_long", "At most 200 characters.") }
        var input = input
        // Stored as a lead's values are (trimmed, as the records engine parses them), so the keys
        // computed from both meet: a tab before an email must not dodge the reservation.
        for (name, path, max) in [("contact_name", \Input.contactName, 200), ("phone", \Input.phone, 50), ("email", \Input.email, 254)] {
            guard let raw = input[keyPath: path] else { continue }
            if raw.count > max { errors.add(name, "too_long", "At most \(max) characters."); continue }
            let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                errors.add(name, "invalid_value", "Control characters are not allowed.")
            }
            input[keyPath: path] = value.isEmpty ? nil : value
        }
        if let note = input.note, note.count > 2000 { errors.add("note", "too_long", "At most 2000 characters.") }
        try errors.throwIfAny()
        let now = clock.now()
        try await DuplicateCheck().lockKeys(phone: input.phone, email: input.email, company: company, in: tx)
        if let other = try await blocking(company: company, phone: input.phone, email: input.email, except: caller.userId, now: now, in: tx) {
            throw CRMError.conflict(other.status == "approved"
                ? "This prospect is reserved for another rep until \(PublicPool.day(other.reservedUntil ?? now))."
                : "Another rep has registered this prospect; it awaits a decision.")
        }
        let rows = try await tx.query("""
            INSERT INTO registrations (id, company, contact_name, phone, email, note, requested_by, status, created_at)
            VALUES (\(UUID.v7(now: now)), \(company), \(input.contactName), \(input.phone), \(input.email), \(input.note), \(caller.userId),
                    'pending', \(now))
            RETURNING \(unescaped: Self.columns)
            """)
        return try await decode(rows)[0]
    }

    /// Approves or rejects a pending registration.
    public func decide(_ id: UUID, approve: Bool, caller: RecordCaller, in tx: Transaction) async throws -> View {
        guard caller.permissions.may(.approve, on: "lead") else { throw CRMError.forbidden("Deciding registrations needs approve on leads.") }
        let now = clock.now()
        let days = try await LeadsModule.registrationDays.load(in: tx)
        let until: Date? = approve ? now.addingTimeInterval(Double(days) * 86_400) : nil
        var requester: UUID?
        for try await by in try await tx.query("SELECT requested_by FROM registrations WHERE id = \(id) FOR UPDATE").decode(UUID.self) {
            requester = by
        }
        guard let requester else { throw CRMError.notFound("No such registration.") }
        // Deciders decide within their approve scope, and never their own request.
        guard caller.permissions.reaches(.approve, on: "lead", ownedBy: requester) else { throw CRMError.notFound("No such registration.") }
        guard requester != caller.userId else { throw CRMError.forbidden("Someone else must decide your own registration.") }
        let rows = try await tx.query("""
            UPDATE registrations SET status = \(approve ? "approved" : "rejected"), decided_by = \(caller.userId), decided_at = \(now),
                reserved_until = \(until)
            WHERE id = \(id) AND status = 'pending'
            RETURNING \(unescaped: Self.columns)
            """)
        if let view = try await decode(rows).first { return view }
        for try await _ in try await tx.query("SELECT 1 FROM registrations WHERE id = \(id)").decode(Int32.self) {
            throw CRMError.conflict("This registration was already decided.")
        }
        throw CRMError.notFound("No such registration.")
    }

    /// The caller's registrations, and those a decider may decide: requested by users within
    /// their `approve` scope on leads, as `decide` requires.
    public func list(status: String?, caller: RecordCaller, in tx: Transaction) async throws -> [View] {
        if let status, !["pending", "approved", "rejected"].contains(status) {
            throw CRMError.invalid("status", "not_in_picklist", "status is pending, approved or rejected.")
        }
        var q = QueryBuilder("SELECT \(Self.columns) FROM registrations WHERE (requested_by = ")
        q.append(try q.bind(caller.userId))
        q.append(" OR ")
        try q.appendCondition(caller.permissions.filter(.approve, on: "lead"), ownerColumn: try SQLIdentifier("requested_by"))
        q.append(")")
        if let status { q.append(" AND status = \(try q.bind(status))") }
        q.append(" ORDER BY created_at DESC LIMIT 200")
        return try await decode(try await tx.query(q.query))
    }
}
