import Foundation

/// A tenant user as the API shows it.
public struct User: Sendable, Codable, Equatable {
    public var id: UUID
    public var email: String
    public var name: String
    public var isActive: Bool
    public var isAdmin: Bool
    public var departmentId: UUID?
    public var createdAt: Date
}

/// The authenticated caller of a tenant request.
public struct Principal: Sendable {
    public var user: User
    public var tokenId: UUID
    /// "session" or "api".
    public var tokenKind: String
    /// A read-only API token may only read.
    public var readOnly: Bool
    /// The tenant's access version when the token was checked (see `AccessVersion`).
    public var accessVersion: Int64 = 0
    /// The tenant's metadata version when the token was checked (see `MetadataVersion`).
    public var metadataVersion: Int64 = 0

    public init(user: User, tokenId: UUID, tokenKind: String, readOnly: Bool, accessVersion: Int64 = 0, metadataVersion: Int64 = 0) {
        self.user = user
        self.tokenId = tokenId
        self.metadataVersion = metadataVersion
        self.tokenKind = tokenKind
        self.readOnly = readOnly
        self.accessVersion = accessVersion
    }
}

/// A personal API token as listed: never the token itself.
public struct APITokenInfo: Sendable, Codable, Equatable {
    public var id: UUID
    public var name: String
    public var readOnly: Bool
    public var createdAt: Date
    public var lastUsedAt: Date
    public var expiresAt: Date?
}
