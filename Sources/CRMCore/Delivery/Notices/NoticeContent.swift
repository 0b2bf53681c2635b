import Foundation

/// What a notice says, read from its outbox row: whom it is for, its title and body (given, or
/// rendered from the kind and payload), the record it is about, and the channels it goes to.
///
/// Payload members read: `user_id` (required, a UUID), `title`, `body`, `object`, `record_id`,
/// `channels` (`["inbox", "email"]` by default), and for the kinds the modules write today
/// their own members (`subject`, `due_at`, `task_id`, `event_id`, `starts_at`, `customer_id`,
/// `reason`, `days_left`).
public struct NoticeContent: Sendable, Equatable {
    public enum Channel: String, Sendable, CaseIterable { case inbox, email }

    public var userId: UUID
    public var kind: String
    public var title: String
    public var body: String?
    public var object: String?
    public var recordId: UUID?
    public var channels: Set<Channel>

    /// Longest title and body kept (a rule's text may be long; the inbox and a subject line are not).
    public static let maxTitle = 200
    public static let maxBody = 4000

    /// The content of a notice, or why it cannot be delivered (no or a bad `user_id`).
    public static func read(kind: String, payload: JSONValue, timeZone: TimeZone) -> Result<NoticeContent, NoticeError> {
        guard case .object(let p) = payload else { return .failure(NoticeError("the payload is not an object")) }
        guard let userText = p["user_id"]?.stringValue, let userId = UUID(uuidString: userText) else {
            return .failure(NoticeError("the payload has no user_id (a UUID)"))
        }
        func text(_ key: String) -> String? {
            guard let s = p[key]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty else { return nil }
            return s
        }
        func id(_ key: String) -> UUID? { text(key).flatMap(UUID.init(uuidString:)) }
        func time(_ key: String) -> String? { text(key).flatMap { Self.localTime($0, zone: timeZone) } ?? text(key) }

        var object = text("object"), recordId = id("record_id")
        var title: String, body: String?
        switch kind {
        case "task.reminder":
            title = "Task due: " + (text("subject") ?? "a task")
            body = time("due_at").map { "Due \($0)." }
            object = object ?? "task"; recordId = recordId ?? id("task_id")
        case "event.reminder":
            title = "Coming up: " + (text("title") ?? "an event")
            body = time("starts_at").map { "Starts \($0)." }
            object = object ?? "event"; recordId = recordId ?? id("event_id")
        case "pool.reclaimed":
            title = "A customer of yours went back to the public pool"
            body = text("reason").map { "Reason: \($0)." }
            object = object ?? "customer"; recordId = recordId ?? id("customer_id")
        case "pool.reclaim_warning":
            let days: String? = p["days_left"].flatMap { value -> String? in
                if case .number(let n) = value { return "\(n)" }
                return value.stringValue
            }
            title = "A customer of yours goes back to the public pool in \(days ?? "a few") days"
            body = "Log an interaction with it to keep it."
            object = object ?? "customer"; recordId = recordId ?? id("customer_id")
        default:
            // The workflow's notify action and any later kind: the title and body it gives.
            title = text("title") ?? kind
            body = text("body")
        }

        var channels = Set(Channel.allCases)
        if case .array(let list) = p["channels"] {
            channels = Set(list.compactMap { $0.stringValue.flatMap(Channel.init(rawValue:)) })
        }
        return .success(NoticeContent(userId: userId, kind: kind, title: clip(title, maxTitle), body: body.map { clip($0, maxBody) },
                                      object: object.map { clip($0, 63) }, recordId: recordId, channels: channels))
    }

    static func clip(_ s: String, _ max: Int) -> String { s.count <= max ? s : String(s.prefix(max - 1)) + "…" }

    /// `2026-11-25T01:00:00Z` as `2026-11-25 09:00 (Asia/Shanghai)` in the tenant's zone.
    static func localTime(_ text: String, zone: TimeZone) -> String? {
        guard let date = (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle())) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
            + " (\(zone.identifier == "GMT" ? "UTC" : zone.identifier))"  // Foundation names UTC "GMT"
    }
}

/// Why a notice cannot be delivered; kept in the outbox row's `last_error`.
public struct NoticeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
