/// Tenant slug rules (API.md): 3 to 40 of a-z, 0-9 and '-', starting with a letter, not reserved.
public enum Slug {
    /// Names that are, or may become, hosts or paths of our own.
    public static let reserved: Set<String> = [
        "www", "api", "ops", "admin", "app", "apps", "auth", "login", "logout", "signup", "register",
        "account", "accounts", "billing", "mail", "email", "smtp", "imap", "pop", "ftp", "ssh", "vpn",
        "static", "assets", "cdn", "media", "files", "img", "images", "status", "health", "metrics",
        "help", "support", "docs", "doc", "blog", "news", "dashboard", "console", "portal", "platform",
        "system", "root", "public", "internal", "dev", "staging", "test", "demo-admin", "crm", "tenant",
        "tenants", "operator", "operators", "security", "abuse", "postmaster", "hostmaster", "webmaster",
        "localhost", "default", "null", "undefined",
    ]

    /// nil when valid, else why not, for a 400 that names the field.
    public static func problem(_ slug: String) -> (code: String, message: String)? {
        let bytes = Array(slug.utf8)
        guard (3...40).contains(bytes.count) else {
            return ("invalid_slug", "The slug must be 3 to 40 characters long.")
        }
        guard let first = bytes.first, first >= 97, first <= 122 else {
            return ("invalid_slug", "The slug must start with a lower-case letter.")
        }
        guard bytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }) else {
            return ("invalid_slug", "The slug may contain only a-z, 0-9 and '-'.")
        }
        if reserved.contains(slug) { return ("reserved_slug", "The slug '\(slug)' is reserved.") }
        return nil
    }
}
