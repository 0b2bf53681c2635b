import Foundation
import PostgresNIO

/// One item of a user's in-app inbox.
public struct InboxItem: Sendable, Encodable, Equatable {
    public var id: UUID
    public var kind: String
    public var title: String
    public var body: String?
    public var object: String?
    public var recordId: UUID?
    public var createdAt: Date
    public var readAt: Date?

    public func encode(to encoder: any Encoder) throws {
        // Absent values are written as null: every item has every member. Ids in lower case,
        // as the records API writes them.
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id.uuidString.lowercased(), forKey: .id)
        try c.encode(kind, forKey: .kind)
        try c.encode(title, forKey: .title)
        try c.encode(body, forKey: .body)
        try c.encode(object, forKey: .object)
        try c.encode(recordId?.uuidString.lowercased(), forKey: .recordId)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(readAt, forKey: .readAt)
    }
    enum CodingKeys: String, CodingKey { case id, kind, title, body, object, recordId, createdAt, readAt }
}

/// A page of the inbox: newest first, the cursor of the next page, and the unread count.
public struct InboxPage: Sendable, Encodable {
    public var data: [InboxItem]
    public var nextCursor: String?
    public var unreadCount: Int

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(data, forKey: .data)
        try c.encode(nextCursor, forKey: .nextCursor)
        try c.encode(unreadCount, forKey: .unreadCount)
    }
    enum CodingKeys: String, CodingKey { case data, nextCursor, unreadCount }
}

/// The signed-in user's inbox: only their own items, in the tenant transaction given.
public struct Inbox: Sendable {
    public static let defaultLimit = 50
    public static let maxLimit = 200

    public init() {}

    static let columns = "id, kind, title, body, object, record_id, created_at, read_at"

    /// Items newest first (`unreadOnly`: unread ones only), after the item `cursor` names (the
    /// previous page's `next_cursor`, the id of its last item).
    public func list(user: UUID, unreadOnly: Bool, limit: Int, cursor: UUID?, in tx: Transaction) async throws -> InboxPage {
        var after: (Date, UUID)?
        if let cursor {
            for try await row in try await tx.query(
                "SELECT created_at, id FROM inbox_items WHERE id = \(cursor) AND user_id = \(user)").decode((Date, UUID).self) { after = row }
            guard after != nil else { throw CRMError.invalid("cursor", "invalid_cursor", "Not a cursor of this inbox; start again without one.") }
        }
        // Keyset on (created_at, id) compared in SQL against the cursor row itself, so no
        // timestamp goes through a Double on its way back.
        let rows = try await tx.query("""
            SELECT \(unescaped: Self.columns) FROM inbox_items
            WHERE user_id = \(user) AND (NOT \(unreadOnly) OR read_at IS NULL)
              AND (\(cursor)::uuid IS NULL OR (created_at, id) < (SELECT c.created_at, c.id FROM inbox_items c WHERE c.id = \(cursor)))
            ORDER BY created_at DESC, id DESC LIMIT \(Int64(limit + 1))
            """)
        var items = try await Self.decode(rows)
        var next: String?
        if items.count > limit {
            items.removeLast(items.count - limit)
            next = items.last?.id.uuidString.lowercased()
        }
        return InboxPage(data: items, nextCursor: next, unreadCount: try await unreadCount(user: user, in: tx))
    }

    public func unreadCount(user: UUID, in tx: Transaction) async throws -> Int {
        for try await n in try await tx.query(
            "SELECT count(*)::int8 FROM inbox_items WHERE user_id = \(user) AND read_at IS NULL").decode(Int64.self) { return Int(n) }
        return 0
    }

    /// Marks one of the user's items read (an item read already keeps its time); 404 for an id
    /// that is not theirs.
    public func markRead(_ id: UUID, user: UUID, now: Date, in tx: Transaction) async throws -> InboxItem {
        let rows = try await tx.query("""
            UPDATE inbox_items SET read_at = coalesce(read_at, \(now)) WHERE id = \(id) AND user_id = \(user)
            RETURNING \(unescaped: Self.columns)
            """)
        guard let item = try await Self.decode(rows).first else { throw CRMError.notFound("No such inbox item.") }
        return item
    }

    /// Marks every unread item of the user read; returns how many.
    public func markAllRead(user: UUID, now: Date, in tx: Transaction) async throws -> Int {
        try await tx.update("UPDATE inbox_items SET read_at = \(now) WHERE user_id = \(user) AND read_at IS NULL")
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [InboxItem] {
        var out: [InboxItem] = []
        for try await (id, kind, title, body, object, recordId, createdAt, readAt) in rows.decode(
            (UUID, String, String, String?, String?, UUID?, Date, Date?).self) {
            out.append(InboxItem(id: id, kind: kind, title: title, body: body, object: object, recordId: recordId,
                                 createdAt: createdAt, readAt: readAt))
        }
        return out
    }
}
