import Foundation
import PostgresNIO

/// Registration of a prospect (报备). A rep registers a company, which submits it to the
/// approvals engine on the built-in process `leads.registration` (their manager by default;
/// `RegistrationSubject`); its approvers decide in their approvals inbox or here. An approved
/// registration reserves the prospect for that rep for `leads.registration_days` days (default
/// 30): nobody else may register it or create a lead matching it (by company name, phone or
/// email, normalized) until then. Registrations made before the engine took them over have no
/// request and are decided as they were: by `approve` on leads within its scope.
public struct Registrations: Sendable {
    let clock: any WallClock
    public static let defaultDays = 30
    /// A request recalled by its rep or cancelled by an admin ends its registration so; neither reserves.
    static let statuses = ["pending", "approved", "rejected", "recalled", "cancelled"]

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

    public func register(_ input: Input, caller: RecordCaller, zone: TimeZone, in tx: Transaction) async throws -> View {
        guard caller.permissions.may(.create, on: "lead") else { throw CRMError.forbidden("You may not register prospects.") }
        var errors = FieldErrors()
        let company = input.company.trimmingCharacters(in: .whitespacesAndNewlines)
        if company.isEmpty { errors.add("company", "required", "Name the company.") }
        if company.count > 200 { errors.add("company", "too_long", "At most 200 characters.") }
        if company.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            errors.add("company", "invalid_value", "Control characters are not allowed.")
        }
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
        let made = try await decode(rows)[0]
        let id = UUID(uuidString: made.id)!
        // The inbox shows the request's comment: the company first, so an approver sees what is asked.
        let comment = [company, input.note].compactMap { $0 }.joined(separator: " — ")
        _ = try await ApprovalEngine().submit(subject: LeadsModule.registrationSubject, record: id, comment: comment, caller: caller,
                                              context: Self.context(caller, zone: zone, now: now), in: tx)
        // Read again: a process with no one to ask (auto-approve) has decided it already.
        return try await view(id, in: tx) ?? made
    }

    static func context(_ caller: RecordCaller, zone: TimeZone, now: Date) -> ApprovalEngine.Context {
        ApprovalEngine.Context(now: now, zone: zone, metadata: caller.metadata, actor: caller.userId)
    }

    func view(_ id: UUID, in tx: Transaction) async throws -> View? {
        try await decode(try await tx.query("SELECT \(unescaped: Self.columns) FROM registrations WHERE id = \(id)")).first
    }

    /// Approves or rejects a registration: the caller's pending task in its approval request
    /// (as `POST /approvals/{id}/approve|reject` would), or, for a registration made before the
    /// engine took them over, the old way.
    public func decide(_ id: UUID, approve: Bool, caller: RecordCaller, zone: TimeZone, in tx: Transaction) async throws -> View {
        let store = ApprovalStore()
        guard let request = try await store.latestRequest(object: LeadsModule.registrationSubject.object, record: id, in: tx) else {
            return try await decideWithoutRequest(id, approve: approve, caller: caller, in: tx)
        }
        let me = caller.userId
        let tasks = try await store.tasks(of: request.id, in: tx)
        if let task = tasks.first(where: { $0.status == "pending" && ($0.approverId == me || $0.delegatedFrom == me) }) {
            try await ApprovalEngine().decide(request: request.id, task: task.id, approve ? .approve : .reject, comment: nil, caller: caller,
                                              context: Self.context(caller, zone: zone, now: clock.now()), in: tx)
            guard let view = try await view(id, in: tx) else { throw CRMError.notFound("No such registration.") }
            return view
        }
        guard request.submitterId != me else { throw CRMError.forbidden("Someone else must decide your own registration.") }
        if tasks.contains(where: { $0.approverId == me || $0.delegatedFrom == me || $0.decidedBy == me }) {
            throw CRMError.conflict("This registration was already decided.")
        }
        guard caller.permissions.may(.approve, on: "lead") else { throw CRMError.forbidden("Deciding registrations needs approve on leads.") }
        // Within the old deciders' reach, the registration is visible (listed) but theirs only when assigned.
        guard caller.permissions.reaches(.approve, on: "lead", ownedBy: request.submitterId) else { throw CRMError.notFound("No such registration.") }
        guard request.status == "pending" else { throw CRMError.conflict("This registration was already decided.") }
        throw CRMError.forbidden("This registration awaits its approvers' decision; an admin can reassign their task.")
    }

    /// A registration pending since before the engine took them over: decided by `approve` on
    /// leads within its scope, as it always was.
    func decideWithoutRequest(_ id: UUID, approve: Bool, caller: RecordCaller, in tx: Transaction) async throws -> View {
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

    /// The caller's registrations, those requested by users within their `approve` scope on
    /// leads, and those whose approval request gave them a task (an assigned approver or a
    /// delegate, whatever their scope).
    public func list(status: String?, caller: RecordCaller, in tx: Transaction) async throws -> [View] {
        if let status, !Self.statuses.contains(status) {
            throw CRMError.invalid("status", "not_in_picklist", "status is one of \(Self.statuses.joined(separator: ", ")).")
        }
        var q = QueryBuilder("SELECT \(Self.columns) FROM registrations WHERE (requested_by = ")
        q.append(try q.bind(caller.userId))
        q.append(" OR ")
        try q.appendCondition(caller.permissions.filter(.approve, on: "lead"), ownerColumn: try SQLIdentifier("requested_by"))
        q.append(" OR id IN (SELECT r.record_id FROM approval_requests r JOIN approval_tasks t ON t.request_id = r.id WHERE r.object = ")
        q.append(try q.bind(LeadsModule.registrationSubject.object))
        q.append(" AND (t.approver_id = ")
        q.append(try q.bind(caller.userId))
        q.append(" OR t.delegated_from = ")
        q.append(try q.bind(caller.userId))
        q.append(")))")
        if let status { q.append(" AND status = \(try q.bind(status))") }
        q.append(" ORDER BY created_at DESC LIMIT 200")
        return try await decode(try await tx.query(q.query))
    }
}
