import Foundation
import PostgresNIO

/// Forecast calls: a rep's submission of what they will close in a period (`commit_minor`, won
/// deals included, and `best_case_minor`, at least the commit) and a manager's adjustment of a
/// subordinate's call, which needs a note. Both are kept as history; the latest of each counts.
/// A user's call is the adjustment if there is one, else the submission; a department's is the
/// sum of its subtree users' calls, where a user who has not called counts their figures
/// (closed + commit; + best case).
struct ForecastCalls: Sendable {
    struct Call: Encodable, Sendable {
        var id: UUID
        var period: String
        var userId: UUID
        var commitMinor: Int64
        var bestCaseMinor: Int64
        var note: String?
        /// The manager, for an adjustment.
        var adjustedBy: UUID?
        var at: Date

        enum CodingKeys: String, CodingKey { case id, period, userId, commitMinor, bestCaseMinor, note, adjustedBy, at, kind }

        /// Ids in lower case, as everywhere in the API.
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id.uuidString.lowercased(), forKey: .id)
            try c.encode(adjustedBy == nil ? "submission" : "adjustment", forKey: .kind)
            try c.encode(period, forKey: .period)
            try c.encode(userId.uuidString.lowercased(), forKey: .userId)
            try c.encode(commitMinor, forKey: .commitMinor)
            try c.encode(bestCaseMinor, forKey: .bestCaseMinor)
            try c.encodeIfPresent(note, forKey: .note)
            try c.encodeIfPresent(adjustedBy?.uuidString.lowercased(), forKey: .adjustedBy)
            try c.encode(at, forKey: .at)
        }
    }

    /// A call's figures from a body: `period`, `commit_minor`, `best_case_minor` (default the
    /// commit), `note` (required for an adjustment), `user_id` (only for an adjustment).
    struct Input {
        var period: FiscalPeriod
        var userId: UUID?
        var commitMinor: Int64
        var bestCaseMinor: Int64
        var note: String?
    }

    static func input(_ body: [String: JSONValue], adjustment: Bool, fiscalStartMonth: Int) throws -> Input {
        try BodyMembers.refuseUnknown(body, allowed: adjustment ? ["period", "user_id", "commit_minor", "best_case_minor", "note"]
                                                                : ["period", "commit_minor", "best_case_minor", "note"])
        var errors = FieldErrors()
        var period: FiscalPeriod?
        if let text = body["period"]?.stringValue {
            do { period = try FiscalPeriod(text, fiscalStartMonth: fiscalStartMonth) } catch let e as CRMError { errors.add(contentsOf: e) }
        } else {
            errors.add("period", "required", "A period: 2026, 2026-Q4 or 2026-12.")
        }
        let user = adjustment ? SalesInput.uuid(body["user_id"], "user_id", errors: &errors) : nil
        let commit = SalesInput.minor(body["commit_minor"], "commit_minor", errors: &errors)
        var best = commit
        if let v = body["best_case_minor"], v != .null {
            best = SalesInput.minor(v, "best_case_minor", errors: &errors)
            if let b = best, let c = commit, b < c { errors.add("best_case_minor", "below_commit", "At least the commit.") }
        }
        var note: String?
        switch body["note"] {
        case nil, .null?: break
        case .string(let s)?:
            let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.count > 2000 { errors.add("note", "too_long", "At most 2000 characters.") }
            note = trimmed.isEmpty ? nil : trimmed
        default: errors.add("note", "invalid_type", "Text.")
        }
        if adjustment && note == nil && !errors.errors.contains(where: { $0.field == "note" }) { errors.add("note", "required", "Say why you adjust the call.") }
        try errors.throwIfAny()
        return Input(period: period!, userId: user, commitMinor: commit!, bestCaseMinor: best!, note: note)
    }

    /// The caller's own call for the period.
    func submit(_ input: Input, caller: RecordCaller, at now: Date, in tx: Transaction) async throws -> Call {
        _ = try caller.readable("opportunity")
        let call = Call(id: UUID.v7(now: now), period: input.period.name, userId: caller.userId, commitMinor: input.commitMinor,
                        bestCaseMinor: input.bestCaseMinor, note: input.note, adjustedBy: nil, at: now)
        try await tx.execute("""
            INSERT INTO forecast_submissions (id, period, user_id, commit_minor, best_case_minor, note, submitted_at)
            VALUES (\(call.id), \(call.period), \(call.userId), \(call.commitMinor), \(call.bestCaseMinor), \(call.note), \(now))
            """)
        return call
    }

    /// A manager's adjustment of the call of a user whose deals they may read (not their own:
    /// that is a submission).
    func adjust(_ input: Input, caller: RecordCaller, at now: Date, in tx: Transaction) async throws -> Call {
        let object = try caller.readable("opportunity")
        guard let user = input.userId else { throw CRMError.invalid("user_id", "required", "Whose call.") }
        guard user != caller.userId else {
            throw CRMError.invalid("user_id", "own_call", "Your own call is a submission: POST /api/v1/forecast/submissions.")
        }
        var exists = false
        for try await _ in try await tx.query("SELECT 1 FROM users WHERE id = \(user)").decode(Int.self) { exists = true }
        guard exists else { throw CRMError.invalid("user_id", "not_found", "No such user.") }
        guard caller.permissions.reaches(.read, on: object.apiName, ownedBy: user) else {
            throw CRMError(.forbidden, "You may adjust the calls of users whose deals you see (your department's, below you).",
                           fieldErrors: [FieldError(field: "user_id", code: "not_yours", message: "Not in your part of the tree.")])
        }
        let call = Call(id: UUID.v7(now: now), period: input.period.name, userId: user, commitMinor: input.commitMinor,
                        bestCaseMinor: input.bestCaseMinor, note: input.note, adjustedBy: caller.userId, at: now)
        try await tx.execute("""
            INSERT INTO forecast_adjustments (id, period, user_id, commit_minor, best_case_minor, note, adjusted_by, adjusted_at)
            VALUES (\(call.id), \(call.period), \(user), \(call.commitMinor), \(call.bestCaseMinor), \(call.note), \(caller.userId), \(now))
            """)
        return call
    }

    /// The latest submission and adjustment per user for the period.
    func latest(_ period: FiscalPeriod, in tx: Transaction) async throws -> (submissions: [UUID: Call], adjustments: [UUID: Call]) {
        var submissions: [UUID: Call] = [:], adjustments: [UUID: Call] = [:]
        for try await (id, user, commit, best, note, at) in try await tx.query("""
            SELECT DISTINCT ON (user_id) id, user_id, commit_minor, best_case_minor, note, submitted_at FROM forecast_submissions
            WHERE period = \(period.name) ORDER BY user_id, submitted_at DESC, id DESC
            """).decode((UUID, UUID, Int64, Int64, String?, Date).self) {
            submissions[user] = Call(id: id, period: period.name, userId: user, commitMinor: commit, bestCaseMinor: best, note: note,
                                     adjustedBy: nil, at: at)
        }
        for try await (id, user, commit, best, note, by, at) in try await tx.query("""
            SELECT DISTINCT ON (user_id) id, user_id, commit_minor, best_case_minor, note, adjusted_by, adjusted_at FROM forecast_adjustments
            WHERE period = \(period.name) ORDER BY user_id, adjusted_at DESC, id DESC
            """).decode((UUID, UUID, Int64, Int64, String?, UUID, Date).self) {
            adjustments[user] = Call(id: id, period: period.name, userId: user, commitMinor: commit, bestCaseMinor: best, note: note,
                                     adjustedBy: by, at: at)
        }
        return (submissions, adjustments)
    }

    /// The history of calls for a period the caller may see: their own, and the users' whose
    /// deals they read; newest first.
    func history(_ period: FiscalPeriod, user: UUID?, caller: RecordCaller, in tx: Transaction) async throws -> [Call] {
        let object = try caller.readable("opportunity")
        let visible: [UUID]?
        switch caller.permissions.filter(.read, on: object.apiName) {
        case .all: visible = nil
        case .owners(let owners): visible = owners + [caller.userId]
        case .nothing: visible = [caller.userId]
        }
        var out: [Call] = []
        for try await (id, u, commit, best, note, by, at) in try await tx.query("""
            SELECT id, user_id, commit_minor, best_case_minor, note, NULL::uuid, submitted_at FROM forecast_submissions
            WHERE period = \(period.name) AND (\(user)::uuid IS NULL OR user_id = \(user)) AND (\(visible)::uuid[] IS NULL OR user_id = ANY(\(visible)))
            UNION ALL
            SELECT id, user_id, commit_minor, best_case_minor, note, adjusted_by, adjusted_at FROM forecast_adjustments
            WHERE period = \(period.name) AND (\(user)::uuid IS NULL OR user_id = \(user)) AND (\(visible)::uuid[] IS NULL OR user_id = ANY(\(visible)))
            ORDER BY 7 DESC, 1 DESC LIMIT 1000
            """).decode((UUID, UUID, Int64, Int64, String?, UUID?, Date).self) {
            out.append(Call(id: id, period: period.name, userId: u, commitMinor: commit, bestCaseMinor: best, note: note, adjustedBy: by, at: at))
        }
        return out
    }
}
