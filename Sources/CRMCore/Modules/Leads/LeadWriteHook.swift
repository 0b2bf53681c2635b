import Foundation
import PostgresNIO

/// The leads module's part in every lead write, after the body was checked: phone, email and
/// company as they will be stored go through the duplicate check (the prospect's locks, other
/// reps' registrations, the rules); a blocking match refuses the save (409 listing the matches)
/// unless `allow_duplicates=true` comes from a holder of `override_duplicates`; matches that only
/// warn ride along as `duplicate_warnings`. The status `converted` is the convert call's alone,
/// and a converted lead keeps it.
public struct LeadWriteHook: RecordHook {
    public let object = "lead"
    let duplicates = DuplicateCheck()
    let clock: any WallClock

    public init(clock: any WallClock) { self.clock = clock }

    /// The origin of the conversion's own write of the status.
    public static let conversion = "lead.convert"

    public var contract: WriteContract {
        WriteContract(
            parameters: [WriteParameter(name: "allow_duplicates", description:
                "true: save a lead its duplicate rules would block (needs the override_duplicates capability); any other value: no")],
            refusedValues: ["status": ["converted"]],
            maxLengths: DuplicateCheck.maxLengths,
            annotations: ["duplicate_warnings": ("After a create or change: the similar records found, when saving was allowed",
                                                 ["object", "id", "name", "field", "match", "action"])])
    }

    public func beforeSave(_ write: RecordWrite, in tx: Transaction) async throws -> [String: JSONValue] {
        try DuplicateCheck.checkLengths(body: write.sent)
        if write.actor.origin != Self.conversion {
            if write.written("status") == "converted" {
                throw CRMError.invalid("status", "invalid_value", "Leads are converted with POST /api/v1/leads/{id}/convert, not by setting the status.")
            }
            if write.event == .updated, write.before["status"]?.stringValue == "converted", write.values["status"] != nil {
                throw CRMError(.conflict, "A converted lead keeps its status.", fieldErrors: [
                    FieldError(field: "status", code: "converted", message: "This lead was converted; its status no longer changes.")])
            }
        }
        // A create checks what it has; an update what it changes to a non-empty value.
        var checked: [String: String] = [:]
        for key in ["phone", "email", "company"] {
            guard let value = write.written(key), !value.isEmpty else { continue }
            if write.event == .created || write.changes(key) { checked[key] = value }
        }
        guard !checked.isEmpty || write.event == .created else { return [:] }
        let outcome = try await duplicates.check(phone: checked["phone"], email: checked["email"], company: checked["company"],
                                                 excluding: write.event == .updated ? write.id : nil, reserve: true,
                                                 caller: write.caller, now: clock.now(), in: tx)
        let warnings = try admit(outcome, override: write.flag("allow_duplicates"), caller: write.caller)
        return warnings.isEmpty ? [:] : ["duplicate_warnings": .array(warnings.map(\.jsonValue))]
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
                error.extensions["duplicates"] = .array(matches.map(\.jsonValue))
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
