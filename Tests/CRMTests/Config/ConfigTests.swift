@testable import CRMCore
import Foundation
import NIOConcurrencyHelpers
import Testing

@Suite("Configuration")
struct ConfigTests {
    @Test("defaults, a KEY=VALUE file, the environment over the file, and errors that name the variable")
    func loading() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).env")
        try "# comment\nCRM_PORT=9999\nCRM_LOG_LEVEL=debug\nCRM_BASE_DOMAIN=Example.COM\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let config = try AppConfig.load(environment: ["CRM_CONFIG_FILE": file.path, "CRM_LOG_LEVEL": "warning",
                                                      "CRM_DATABASE_URL": "postgres://app:s%40cret@db.internal:6543/crm_prod"])
        #expect(config.port == 9999)
        #expect(config.logLevel == .warning)
        #expect(config.baseDomain == "example.com")
        #expect(config.database.host == "db.internal" && config.database.port == 6543 && config.database.database == "crm_prod")
        #expect(config.database.password == "s@cret")
        #expect(!config.database.safeDescription.contains("s@cret"))
        #expect(config.identity.argon2 == .owasp)
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: ["CRM_PORT": "http"]) }
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: ["CRM_ARGON2_MEMORY_KIB": "1024"]) }
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: ["CRM_DATABASE_URL": "mysql://x@y/z"]) }
        do {
            _ = try AppConfig.load(environment: ["CRM_DB_POOL_SIZE": "0"])
        } catch let error as ConfigError {
            #expect(error.description.contains("CRM_DB_POOL_SIZE"))
        }
    }
}
