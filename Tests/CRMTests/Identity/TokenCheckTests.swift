@testable import CRMCore
import Foundation
import Testing

/// The token check all three paths share (ordinary request, one-trip read, read functions' SQL).
@Suite("Token check")
struct TokenCheckTests {
    @Test("expired at its expiry; a session idle for the timeout is out, an API token is not")
    func liveness() {
        let now = Date(timeIntervalSince1970: 1_800_000_000), idle: TimeInterval = 3600
        #expect(TokenCheck.isLive(kind: "session", lastUsed: now, expires: nil, now: now, idleTimeout: idle))
        #expect(!TokenCheck.isLive(kind: "session", lastUsed: now, expires: now, now: now, idleTimeout: idle))
        #expect(TokenCheck.isLive(kind: "api", lastUsed: now, expires: now.addingTimeInterval(1), now: now, idleTimeout: idle))
        #expect(!TokenCheck.isLive(kind: "session", lastUsed: now.addingTimeInterval(-idle), expires: nil, now: now, idleTimeout: idle))
        #expect(TokenCheck.isLive(kind: "session", lastUsed: now.addingTimeInterval(-idle + 1), expires: nil, now: now, idleTimeout: idle))
        #expect(TokenCheck.isLive(kind: "api", lastUsed: now.addingTimeInterval(-idle * 100), expires: nil, now: now, idleTimeout: idle))
    }

    @Test("the read functions' SQL holds the same token condition and record scope as the statements built in Swift")
    func sharedSQL() throws {
        let schema = TenantSchema(schema: try SQLIdentifier("tenant_schema"), role: try SQLIdentifier("tenant_role"))
        let object = ObjectDefinition(apiName: "thing", label: "Thing", pluralLabel: "Things", table: try SQLIdentifier("things"),
                                      module: "test", position: 1, fields: [], deletedFields: [])
        let ddl = try RecordReadFunction.ddl(object, tenant: schema, version: 1)
        #expect(ddl.contains(TokenCheck.sql(alias: "tok", hash: "p_token")))
        #expect(ddl.contains(RecordFilter.sql(ownerColumn: "t.owner_id", all: "p_all", owners: "p_owners")))
    }
}
