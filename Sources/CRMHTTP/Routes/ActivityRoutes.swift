import CRMCore
import Foundation
import Hummingbird

/// The activities module's calls beyond the records API: the agenda and event attendees.
enum ActivityRoutes {
    struct AttendeesBody: Codable {
        var userIds: [UUID]
        enum CodingKeys: String, CodingKey { case userIds = "user_ids" }
    }

    static func register(on authed: RouterGroup<AppRequestContext>, services: AppServices) {
        let limit = services.config.maxBodyBytes
        let agenda = Agenda()
        authed.get("agenda") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(ActivitiesModule.id)
            let zone = TimeZone(identifier: try context.requireTenant().timeZone) ?? .gmt
            let params = request.uri.queryParameters
            let from = try instant(params.get("from"), name: "from", zone: zone)
            let to = try instant(params.get("to"), name: "to", zone: zone)
            return RecordRoutes.json(try await agenda.agenda(from: from, to: to, caller: caller, in: tx))
        }
        authed.put("events/:id/attendees") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            try caller.requireModule(ActivitiesModule.id)
            let id = try RecordRoutes.recordId(context, "event")
            let body = try await JSONBody.decode(AttendeesBody.self, from: request, limit: limit)
            let users = try await agenda.setAttendees(event: id, users: body.userIds, caller: caller, in: tx)
            return try JSONOut.response(AttendeesBody(userIds: users))
        }
    }

    /// An ISO 8601 instant, or a date (`2026-11-23`) taken as midnight in the tenant's time zone.
    static func instant(_ text: String?, name: String, zone: TimeZone) throws -> Date {
        guard let text, !text.isEmpty else { throw CRMError.invalid(name, "required", "Give '\(name)' as a date or an ISO 8601 time.") }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = text.split(separator: "-")
        if parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), parts[0].count == 4,
           let date = calendar.date(from: DateComponents(year: y, month: m, day: d)),
           calendar.dateComponents([.year, .month, .day], from: date) == DateComponents(year: y, month: m, day: d) {
            return date
        }
        throw CRMError.invalid(name, "invalid_date", "'\(name)' must be a date (2026-11-23) or an ISO 8601 time.")
    }
}
