import Foundation
import PostgresNIO

/// Registrations as the approvals engine sees them: rows of the leads module's own table,
/// approved on the built-in process `leads.registration` (leads migration 7). The table keeps
/// its key columns, which the duplicate check (`crm_lead_check`) reads; the engine brings
/// `status`, `decided_by`, `decided_at` and `reserved_until` along when a request ends, in the
/// transaction that ends it, so an inbox decision reserves the prospect as the old call did.
extension LeadsModule {
    public var approvalSubjects: [ApprovalSubject] { [Self.registrationSubject] }

    public static let registrationBuiltin = "leads.registration"

    public static let registrationSubject = ApprovalSubject(
        object: "registration", builtin: registrationBuiltin, module: id, label: "Registration", pluralLabel: "Registrations",
        fields: [ApprovalSubject.textField("registration", "company", "Company", position: 1),
                 ApprovalSubject.textField("registration", "contact_name", "Contact name", position: 2),
                 ApprovalSubject.textField("registration", "phone", "Phone", position: 3),
                 ApprovalSubject.textField("registration", "email", "Email", position: 4),
                 ApprovalSubject.textField("registration", "note", "Note", position: 5)],
        values: { id, lock, tx in
            // What a process's conditions see: the requester as the owner, beside the row's own values.
            let sql = """
                SELECT json_build_object('id', id, 'owner_id', requested_by, 'created_at', created_at, 'company', company,
                                         'contact_name', contact_name, 'phone', phone, 'email', email, 'note', note)::text
                FROM registrations WHERE id = $1
                """ + (lock ? " FOR UPDATE" : "")
            var binds = PostgresBindings()
            binds.append(id)
            for try await text in try await tx.query(PostgresQuery(unsafeSQL: sql, binds: binds)).decode(String.self) {
                return JSONValue.parse(text)?.objectValue ?? [:]
            }
            return nil
        },
        owner: { id, tx in
            for try await by in try await tx.query("SELECT requested_by FROM registrations WHERE id = \(id)").decode(UUID.self) { return by }
            return nil
        },
        finished: { end, tx in
            // Only an approval reserves, for the tenant's registration_days from the decision.
            var until: Date?
            if end.status == "approved" {
                until = end.at.addingTimeInterval(Double(try await LeadsModule.registrationDays.load(in: tx)) * 86_400)
            }
            try await tx.execute("""
                UPDATE registrations SET status = \(end.status), decided_by = \(end.by), decided_at = \(end.at), reserved_until = \(until)
                WHERE id = \(end.record) AND status = 'pending'
                """)
        })
}
