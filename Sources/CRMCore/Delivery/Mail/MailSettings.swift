import Foundation

/// Where e-mail goes: `CRM_SMTP_URL` and `CRM_MAIL_FROM` (docs/notices.md). Without a URL,
/// messages go to the log (`LogMailTransport`).
public struct MailSettings: Sendable, Equatable {
    public var smtp: SMTPSettings?
    /// The envelope and header sender.
    public var from: String

    public init(smtp: SMTPSettings?, from: String) {
        self.smtp = smtp
        self.from = from
    }

    /// The domain of Message-IDs: the sender's.
    public var domain: String { from.split(separator: "@").last.map(String.init) ?? "crm.invalid" }

    public static let defaults: [String: String] = ["CRM_SMTP_URL": "", "CRM_MAIL_FROM": ""]

    /// From the configuration values; errors name the variable and never repeat a password.
    public static func read(_ values: [String: String]) throws -> MailSettings {
        let url = values["CRM_SMTP_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let from = values["CRM_MAIL_FROM"].flatMap { $0.isEmpty ? nil : $0 }
        if let from, !MailMessage.isSendable(from) {
            throw ConfigError("CRM_MAIL_FROM must be a plain address such as crm@example.com")
        }
        guard let url else { return MailSettings(smtp: nil, from: from ?? "crm@localhost") }
        guard let from else { throw ConfigError("CRM_MAIL_FROM must be set when CRM_SMTP_URL is") }
        return MailSettings(smtp: try SMTPSettings(url: url), from: from)
    }

    /// The transport these settings name.
    public func transport() -> any MailTransport {
        if let smtp { return SMTPTransport(settings: smtp) }
        return LogMailTransport()
    }
}

/// An SMTP server from `smtp://[user:password@]host[:port]` (STARTTLS when the server offers
/// it) or `smtps://…` (TLS from the first byte, port 465 by default).
public struct SMTPSettings: Sendable, Equatable, CustomStringConvertible {
    public enum Security: String, Sendable { case startTLSWhenOffered, implicitTLS }

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var security: Security
    /// Each step (connect, each reply) must finish within this.
    public var stepTimeout: Duration
    /// The name given in EHLO.
    public var heloName: String

    public init(host: String, port: Int, username: String? = nil, password: String? = nil, security: Security = .startTLSWhenOffered,
                stepTimeout: Duration = .seconds(30), heloName: String = SMTPSettings.defaultHeloName()) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.security = security
        self.stepTimeout = stepTimeout
        self.heloName = heloName
    }

    public init(url text: String) throws {
        let bad = ConfigError("CRM_SMTP_URL must look like smtp://user:password@host:port or smtps://host (user and password percent-encoded)")
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
              url.path.isEmpty || url.path == "/" else { throw bad }
        let security: Security
        switch scheme {
        case "smtp": security = .startTLSWhenOffered
        case "smtps": security = .implicitTLS
        default: throw bad
        }
        let port = url.port ?? (security == .implicitTLS ? 465 : 25)
        guard (1...65535).contains(port) else { throw bad }
        let user = url.percentEncodedUser.flatMap { $0.removingPercentEncoding }
        let password = url.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        if (user == nil) != (password == nil) { throw ConfigError("CRM_SMTP_URL: give both user and password, or neither") }
        self.init(host: host, port: port, username: user, password: password, security: security)
    }

    /// Names the server, never the password.
    public var description: String {
        "\(security == .implicitTLS ? "smtps" : "smtp")://\(username.map { "\($0)@" } ?? "")\(host):\(port)"
    }

    public static func defaultHeloName() -> String {
        let name = ProcessInfo.processInfo.hostName
        return name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) ? "localhost" : name
    }
}
