import Foundation

/// Where the database is and how the application logs in.
public struct DatabaseConfig: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// A unix socket file (`…/.s.PGSQL.5432`); when set, host and port are not used.
    public var socketPath: String?
    public var poolSize: Int
    /// The role that owns every schema and runs DDL; the login role switches into it explicitly.
    public var ownerRole: String
    /// How long a request waits for a pooled connection before it gets a 503.
    public var acquireTimeout: Duration = .seconds(5)
    /// Connections one tenant may hold at once, and its requests that may wait for one.
    public var tenantLimits = TenantGate.Limits(maxConnections: 5, maxQueued: 64)
    /// Substring searches one tenant may run at once, and may have waiting.
    public var searchLimits = TenantGate.Limits(maxConnections: 2, maxQueued: 64)
    /// The time each tenant's searches may take per second on average, and ahead of that.
    public var searchTime = TenantTimeBudget.Limits(share: 0.25, burst: 2)
    /// TLS to PostgreSQL: needed when a cell's database is on another machine.
    public var tls: TLSMode = .disable
    /// PEM file of the certificate authorities `verify-full` trusts; the system's when nil.
    public var tlsCAFile: String?
    /// Prepare hot statements per connection (`StatementCache`; `CRM_PREPARED_STATEMENTS`).
    public var preparedStatements = true

    /// How the connection to PostgreSQL is encrypted, named as libpq's `sslmode` values.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP or a unix socket: the database is on this machine or a private link.
        case disable
        /// Encrypted, without checking the server's certificate (protects against listeners only).
        case require
        /// Encrypted, the certificate checked against the CA and the host name.
        case verifyFull = "verify-full"
    }

    public init(url: String, socketPath: String?, poolSize: Int, ownerRole: String) throws {
        guard let components = URLComponents(string: url),
              ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let user = components.user, !user.isEmpty
        else { throw ConfigError("CRM_DATABASE_URL must look like postgres://user[:password]@host[:port]/database") }
        self.host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        self.port = components.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.database = path.isEmpty ? "crm" : path
        self.socketPath = socketPath
        self.poolSize = poolSize
        self.ownerRole = ownerRole
    }

    /// Where we connect, for logs: never the password.
    public var safeDescription: String {
        if let socketPath { return "\(username)@\(socketPath) database \(database)" }
        return "postgres://\(username)@\(host):\(port)/\(database)"
    }
}
