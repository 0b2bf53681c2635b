@testable import CRMCore
import Crypto
import Foundation
import HummingbirdTesting
import Testing

/// Services for one webhook test: a hand-moved clock, backoff without jitter, the private-address
/// rule as asked, and a delivery job kind of its own, claimed only by this test's runner.
struct WebhookFixture {
    let services: AppServices
    let clock: ManualClock
    let runner: JobRunner
    let t: TestTenant

    /// The clock starts now, in whole seconds (timestamps come back from the database in microseconds).
    static func make(allowPrivate: Bool = true, plan: String = "starter",
                     start: Date = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))) async throws -> WebhookFixture {
        let shared = try await TestEnvironment.shared.services()
        let clock = ManualClock(start)
        let config = try TestEnvironment.config(["CRM_WEBHOOK_ALLOW_PRIVATE": allowPrivate ? "1" : "0"])
        var services = AppServices(config: config, db: shared.db, clock: clock)
        let kind = JobsFixture.kind("webhooks")
        services.webhooks = Webhooks(jobs: services.jobs, clock: clock, policy: WebhookURLPolicy(allowPrivate: config.webhookAllowPrivate),
                                     backoff: WebhookBackoff(jitter: 0), jobKind: kind)
        let runner = JobRunner(queue: services.jobs, scheduler: services.jobSchedules,
                               configuration: .init(concurrency: 4, kinds: [kind], workerId: "webhook-test"))
        services.webhooks.register(on: runner)
        let t = try await Fixtures.tenant(services, plan: plan)
        return WebhookFixture(services: services, clock: clock, runner: runner, t: t)
    }

    var schema: TenantSchema { get throws { try t.tenant.schema() } }

    /// Runs the due delivery jobs; how many ran.
    @discardableResult
    func runDue() async throws -> Int { try await runner.runDue(limit: 50) }

    /// The record-event fan-out, as the dispatcher calls it.
    @discardableResult
    func fanout(_ kind: String, object: String? = "customer", eventId: UUID = UUID(),
                payload: JSONValue = .object(["object": .string("customer"), "id": .string(UUID().uuidString.lowercased())])) async throws -> Int {
        try await services.db.transaction(for: try schema) { tx in
            try await services.webhooks.fanout(tenantId: t.tenant.id).enqueue(
                eventId: eventId, kind: kind, payload: payload, object: object, at: clock.now(), in: tx)
        }
    }

    func deliveries(_ endpoint: UUID) async throws -> [WebhookDelivery] {
        try await services.db.transaction(for: try schema) { tx in
            try await services.webhooks.deliveries(endpoint: endpoint, status: nil, limit: "200", cursor: nil, in: tx).data
        }
    }

    func delivery(_ id: UUID) async throws -> WebhookDelivery {
        try await services.db.transaction(for: try schema) { tx in
            try await tx.query("SELECT \(unescaped: WebhookDelivery.columns) FROM webhook_deliveries WHERE id = \(id)").decodeDeliveries()[0]
        }
    }

    /// An address of this test's own to log in from: other suites fail logins on purpose, and a
    /// shared address would be throttled by their failures.
    let address = "2001:db8:\(UUID().compactHex.prefix(4)):\(UUID().compactHex.prefix(4))::1"

    /// A logged-in admin (log in again after moving the clock past the session's idle time).
    func admin(_ client: any TestClientProtocol) async throws -> String {
        try await client.login(t.slug, t.adminEmail, t.adminPassword, address: address)
    }

    /// Registers an endpoint through the API; its id and secret.
    func endpoint(_ client: any TestClientProtocol, token: String, url: String, events: [String] = ["*"],
                  objects: [String]? = nil, active: Bool = true) async throws -> (id: UUID, secret: String) {
        var body: [String: Any] = ["url": url, "events": events, "active": active]
        if let objects { body["objects"] = objects }
        let r = try await client.call(.post, "/api/v1/admin/webhooks", tenant: t.slug, token: token, json: body)
        guard r.status == 201, let id = (r.object["id"] as? String).flatMap(UUID.init(uuidString:)),
              let secret = r.object["secret"] as? String else { throw TestFailure("create webhook: \(r.status) \(r.text)") }
        return (id, secret)
    }

    /// HMAC-SHA256 hex, computed here independently of the server's code.
    static func hmacHex(_ secret: String, _ message: [UInt8]) -> String {
        HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    /// The `t` and `v1` values of a CRM-Signature header.
    static func parseSignature(_ header: String) -> (t: String?, v1: [String]) {
        var t: String?, v1: [String] = []
        for part in header.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            if kv[0] == "t" { t = kv[1] } else if kv[0] == "v1" { v1.append(kv[1]) }
        }
        return (t, v1)
    }

    /// Whether `header` carries a v1 of `secret` over `body`.
    static func signs(_ header: String?, _ body: [UInt8], _ secret: String) -> Bool {
        guard let header else { return false }
        let (t, v1) = parseSignature(header)
        guard let t else { return false }
        return v1.contains(hmacHex(secret, Array("\(t).".utf8) + body))
    }
}
