@testable import CRMCore
import Foundation
import HummingbirdTesting
import Testing

@Suite("Webhooks: fan-out, signing, retries, redelivery")
struct WebhookDeliveryTests {
    @Test("the fan-out picks active endpoints by exact kind, prefix, * and object filter; a replay or a rollback adds nothing")
    func fanoutMatches() async throws {
        let f = try await WebhookFixture.make()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let exact = try await f.endpoint(client, token: token, url: receiver.url + "/exact", events: ["record.updated"])
            let prefix = try await f.endpoint(client, token: token, url: receiver.url + "/prefix", events: ["record.*"], objects: ["customer"])
            let all = try await f.endpoint(client, token: token, url: receiver.url + "/all", events: ["*"])
            let created = try await f.endpoint(client, token: token, url: receiver.url + "/created", events: ["record.created"])
            let off = try await f.endpoint(client, token: token, url: receiver.url + "/off", events: ["*"], active: false)

            let event = UUID()
            #expect(try await f.fanout("record.updated", object: "customer", eventId: event) == 3)
            #expect(try await f.fanout("record.updated", object: "contact") == 2)      // not the customer-only one
            #expect(try await f.fanout("record.created", object: "contact") == 2)      // created and *
            #expect(try await f.fanout("lead.converted", object: nil) == 1)            // * only
            // The same event again: nothing more.
            #expect(try await f.fanout("record.updated", object: "customer", eventId: event) == 0)
            #expect(try await f.deliveries(exact.id).count == 2)
            #expect(try await f.deliveries(prefix.id).count == 1)
            #expect(try await f.deliveries(all.id).count == 4)
            #expect(try await f.deliveries(created.id).count == 1)
            #expect(try await f.deliveries(off.id).isEmpty)

            // A rollback takes the deliveries and their jobs with it.
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await f.services.db.transaction(for: try f.schema) { tx in
                    _ = try await f.services.webhooks.fanout(tenantId: f.t.tenant.id).enqueue(
                        eventId: UUID(), kind: "record.deleted", payload: .object([:]), object: "customer", at: f.clock.now(), in: tx)
                    throw Abort()
                }
            }
            #expect(try await f.deliveries(all.id).count == 4)
            // Aimed at one endpoint: whatever its events; nothing for an inactive one.
            let aimed = try await f.services.db.transaction(for: try f.schema) { tx in
                try await f.services.webhooks.fanout(tenantId: f.t.tenant.id).enqueue(
                    endpointId: created.id, eventId: UUID(), kind: "workflow.webhook", payload: .object(["rule": .string("r1")]),
                    at: f.clock.now(), in: tx)
            }
            #expect(aimed != nil)
            let none = try await f.services.db.transaction(for: try f.schema) { tx in
                try await f.services.webhooks.fanout(tenantId: f.t.tenant.id).enqueue(
                    endpointId: off.id, eventId: UUID(), kind: "workflow.webhook", payload: .object([:]), at: f.clock.now(), in: tx)
            }
            #expect(none == nil)

            // Every delivery is sent once; each receiver path got what matched.
            #expect(try await f.runDue() == 9)
            #expect(try await f.runDue() == 0)
            let paths = receiver.captured.map(\.path)
            #expect(paths.filter { $0 == "/hook/exact" }.count == 2)
            #expect(paths.filter { $0 == "/hook/prefix" }.count == 1)
            #expect(paths.filter { $0 == "/hook/all" }.count == 4)
            #expect(paths.filter { $0 == "/hook/created" }.count == 2)
            #expect(!paths.contains("/hook/off"))
        }
    }

    @Test("a delivery is signed Stripe-style over timestamp and raw body, with the event id as idempotency key; no GET shows the secret")
    func signed() async throws {
        let f = try await WebhookFixture.make()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let (id, secret) = try await f.endpoint(client, token: token, url: receiver.url, events: ["record.updated"])
            #expect(secret.hasPrefix("whsec_") && secret.count == 49)
            let event = UUID()
            let payload: JSONValue = .object(["object": .string("customer"), "event": .string("updated"),
                                              "changes": .object(["name": .object(["old": .string("A"), "new": .string("B")])])])
            #expect(try await f.fanout("record.updated", eventId: event, payload: payload) == 1)
            #expect(try await f.runDue() == 1)
            let request = try #require(receiver.captured.first)
            #expect(request.header("Content-Type") == "application/json")
            #expect(request.header("User-Agent") == "crm-webhooks/1")
            #expect(request.header("CRM-Event-Id") == event.uuidString.lowercased())
            #expect(request.header("CRM-Event-Kind") == "record.updated")
            let delivery = try #require(try await f.deliveries(id).first)
            #expect(request.header("CRM-Delivery-Id") == delivery.id.uuidString.lowercased())
            let signature = try #require(request.header("CRM-Signature"))
            let (t, v1) = WebhookFixture.parseSignature(signature)
            #expect(t == String(Int(f.clock.now().timeIntervalSince1970)) && v1.count == 1)
            #expect(WebhookFixture.signs(signature, request.body, secret))
            #expect(!WebhookFixture.signs(signature, request.body + [0x20], secret))
            // The body: id, kind, created_at, data.
            let body = request.json
            #expect(body["id"] as? String == event.uuidString.lowercased())
            #expect(body["kind"] as? String == "record.updated")
            #expect((body["created_at"] as? String).flatMap(RFC3339.parse) != nil)
            #expect(((body["data"] as? [String: Any])?["changes"] as? [String: Any])?["name"] != nil)
            #expect(delivery.status == .delivered && delivery.attempts == 1 && delivery.lastStatusCode == 200 && delivery.deliveredAt != nil)

            // The secret is in no answer after the create.
            for path in ["/api/v1/admin/webhooks", "/api/v1/admin/webhooks/\(id)", "/api/v1/admin/webhooks/\(id)/deliveries"] {
                let r = try await client.call(.get, path, tenant: f.t.slug, token: token)
                #expect(r.status == 200 && !r.text.contains(secret) && !r.text.contains("whsec_"), "\(path)")
            }
            let log = try await client.call(.get, "/api/v1/admin/webhooks/\(id)/deliveries?status=delivered", tenant: f.t.slug, token: token)
            #expect(log.data.count == 1 && log.data.first?["event_id"] as? String == event.uuidString.lowercased())
        }
    }

    @Test("the documented Python recipe (ops/webhook-verify.py) verifies a real delivery and refuses a tampered body or another secret")
    func pythonRecipe() async throws {
        let f = try await WebhookFixture.make()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let (id, secret) = try await f.endpoint(client, token: token, url: receiver.url, events: ["record.*"])
            let test = try await client.call(.post, "/api/v1/admin/webhooks/\(id)/test", tenant: f.t.slug, token: token)
            #expect(test.status == 202 && test.object["event_kind"] as? String == "webhook.test")
            #expect(try await f.fanout("record.created", payload: .object(["name": .string("Ünïcødé 公司 \"quoted\"")])) == 1)
            #expect(try await f.runDue() == 2)
            #expect(receiver.captured.count == 2)
            let now = String(Int(f.clock.now().timeIntervalSince1970))
            for request in receiver.captured {
                let header = try #require(request.header("CRM-Signature"))
                #expect(try Self.python(secret, header, request.body, now: now) == 0)
                var tampered = request.body
                tampered[tampered.count - 2] ^= 0x01
                #expect(try Self.python(secret, header, tampered, now: now) == 1)
                #expect(try Self.python(WebhookSignature.newSecret(), header, request.body, now: now) == 1)
                // A replay long after: refused by the timestamp tolerance.
                #expect(try Self.python(secret, header, request.body, now: String(Int(now)! + 3600)) == 1)
            }
        }
        // The recipe in docs/webhooks.md is the code the test ran, verbatim.
        let script = try String(contentsOf: Self.root.appendingPathComponent("ops/webhook-verify.py"), encoding: .utf8)
        let docs = try String(contentsOf: Self.root.appendingPathComponent("docs/webhooks.md"), encoding: .utf8)
        let start = try #require(script.range(of: "import hashlib\n"))
        let end = try #require(script.range(of: "# --- end of the recipe ---"))
        let recipe = String(script[start.lowerBound..<end.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(recipe.contains("def verify_crm_signature") && docs.contains(recipe))
    }

    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// Runs ops/webhook-verify.py; its exit status.
    static func python(_ secret: String, _ header: String, _ body: [UInt8], now: String) throws -> Int32 {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("webhook-body-\(UUID().compactHex)")
        try Data(body).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("ops/webhook-verify.py").path, secret, header, file.path, "--now", now]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test("after a rotation both secrets sign for 24 hours, then only the new one")
    func rotation() async throws {
        let f = try await WebhookFixture.make()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: f.services).run { client in
            var token = try await f.admin(client)
            let (id, old) = try await f.endpoint(client, token: token, url: receiver.url)
            let rotated = try await client.call(.post, "/api/v1/admin/webhooks/\(id)/rotate-secret", tenant: f.t.slug, token: token)
            #expect(rotated.status == 200)
            let new = try #require(rotated.object["secret"] as? String)
            #expect(new != old && new.hasPrefix("whsec_"))
            #expect((rotated.object["previous_secret_expires_at"] as? String).flatMap(RFC3339.parse) != nil)

            #expect(try await f.fanout("record.updated") == 1)
            #expect(try await f.runDue() == 1)
            let during = try #require(receiver.captured.last?.header("CRM-Signature"))
            let body = try #require(receiver.captured.last?.body)
            #expect(WebhookFixture.parseSignature(during).v1.count == 2)
            #expect(WebhookFixture.signs(during, body, new) && WebhookFixture.signs(during, body, old))

            f.clock.advance(Webhooks.rotationOverlap + 1)
            #expect(try await f.fanout("record.updated") == 1)
            #expect(try await f.runDue() == 1)
            let after = try #require(receiver.captured.last?.header("CRM-Signature"))
            let body2 = try #require(receiver.captured.last?.body)
            #expect(WebhookFixture.parseSignature(after).v1.count == 1)
            #expect(WebhookFixture.signs(after, body2, new) && !WebhookFixture.signs(after, body2, old))
            token = try await f.admin(client)
            let shown = try await client.call(.get, "/api/v1/admin/webhooks/\(id)", tenant: f.t.slug, token: token)
            #expect(!shown.text.contains(new) && !shown.text.contains(old))
        }
    }

    @Test("a receiver that fails gets the event again after 10 s, 1 min, 5 min, and the delivery is logged delivered with its attempts")
    func retriesWithBackoff() async throws {
        let f = try await WebhookFixture.make()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let (id, _) = try await f.endpoint(client, token: token, url: receiver.url)
            receiver.fail(3, status: 503)
            let event = UUID()
            #expect(try await f.fanout("record.updated", eventId: event) == 1)
            let start = f.clock.now()
            #expect(try await f.runDue() == 1)
            var d = try #require(try await f.deliveries(id).first)
            #expect(d.status == .pending && d.attempts == 1 && d.lastStatusCode == 503 && d.lastError == "the receiver answered 503")
            var waited: TimeInterval = 0
            for (n, wait) in [10.0, 60, 300].enumerated() {
                #expect(d.nextAttemptAt == f.clock.now().addingTimeInterval(wait))
                // Not before it is due.
                f.clock.advance(wait - 1)
                #expect(try await f.runDue() == 0)
                f.clock.advance(1)
                waited += wait
                #expect(try await f.runDue() == 1)
                d = try #require(try await f.deliveries(id).first)
                #expect(d.attempts == n + 2)
            }
            #expect(f.clock.now() == start.addingTimeInterval(waited))
            #expect(d.status == .delivered && d.lastStatusCode == 200 && d.lastError == nil && d.nextAttemptAt == nil)
            // Four requests, one event id: the receiver's idempotency key.
            #expect(receiver.captured.count == 4)
            #expect(Set(receiver.captured.compactMap { $0.header("CRM-Event-Id") }) == [event.uuidString.lowercased()])
            #expect(try await f.runDue() == 0)
        }
    }

    @Test("a receiver down for 10 minutes while 100 events happen gets every one of them after backoff, each delivered once")
    func receiverDownTenMinutes() async throws {
        let f = try await WebhookFixture.make()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let (id, _) = try await f.endpoint(client, token: token, url: receiver.url)
            receiver.fail(1_000_000, status: 503)
            let start = f.clock.now()
            var events: Set<String> = []
            // One event every 6 s for 10 minutes, the delivery jobs running as the clock moves.
            for _ in 0..<100 {
                let event = UUID()
                events.insert(event.uuidString.lowercased())
                #expect(try await f.fanout("record.updated", eventId: event) == 1)
                while try await f.runDue() > 0 {}
                f.clock.advance(6)
            }
            #expect(try await f.deliveries(id).allSatisfy { $0.status == .pending })
            receiver.fail(0)
            let back = f.clock.now()
            // After it is back, every delivery goes on its next scheduled attempt.
            var delivered: [WebhookDelivery] = []
            while f.clock.now() < back.addingTimeInterval(3600) {
                f.clock.advance(10)
                while try await f.runDue() > 0 {}
                delivered = try await f.deliveries(id).filter { $0.status == .delivered }
                if delivered.count == 100 { break }
            }
            #expect(delivered.count == 100)
            // The backoff after 10 minutes down is at most 15 minutes: all in within 25 minutes of the first event.
            #expect(f.clock.now() <= start.addingTimeInterval(25 * 60), "\(f.clock.now().timeIntervalSince(start)) s")
            let answered = receiver.captured.suffix(100).compactMap { $0.header("CRM-Event-Id") }
            #expect(Set(answered) == events && answered.count == 100)
            #expect(try await f.runDue() == 0)
        }
    }

    @Test("a receiver down for good: attempts stop 24 hours after the event and the delivery is failed; redeliver sends it again")
    func failsAfterADayThenRedeliver() async throws {
        let f = try await WebhookFixture.make()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let (id, _) = try await f.endpoint(client, token: token, url: receiver.url)
            receiver.fail(1000)
            #expect(try await f.fanout("record.deleted") == 1)
            let created = f.clock.now()
            var d = try #require(try await f.deliveries(id).first)
            while d.status == .pending {
                let next = try #require(d.nextAttemptAt)
                #expect(next <= created.addingTimeInterval(86400))
                f.clock.advance(next.timeIntervalSince(f.clock.now()))
                #expect(try await f.runDue() == 1)
                d = try #require(try await f.deliveries(id).first)
            }
            // 10 s, 1 min, 5 min, 15 min, 1 h, 2 h, 4 h, 8 h, 8 h: ten attempts within the day.
            #expect(d.status == .failed && d.attempts == 10 && d.nextAttemptAt == nil)
            #expect(d.lastStatusCode == 500 && d.lastError == "the receiver answered 500")
            #expect(receiver.captured.count == 10)
            #expect(f.clock.now() < created.addingTimeInterval(86400))
            f.clock.advance(86400)
            #expect(try await f.runDue() == 0)

            // Redeliver: one attempt now, also for a failed delivery.
            receiver.fail(0)
            let admin = try await f.admin(client)
            let r = try await client.call(.post, "/api/v1/admin/webhook-deliveries/\(d.id)/redeliver", tenant: f.t.slug, token: admin)
            #expect(r.status == 202 && r.object["status"] as? String == "pending")
            #expect(try await f.runDue() == 1)
            d = try await f.delivery(d.id)
            #expect(d.status == .delivered && d.attempts == 11)
            // Again on a delivered one (the receiver lost it): sent again, same event id.
            let again = try await client.call(.post, "/api/v1/admin/webhook-deliveries/\(d.id)/redeliver", tenant: f.t.slug, token: admin)
            #expect(again.status == 202)
            #expect(try await f.runDue() == 1)
            #expect(receiver.captured.count == 12)
            #expect(Set(receiver.captured.compactMap { $0.header("CRM-Event-Id") }).count == 1)
            // A failed redelivery of an old event fails again at once: its day is over.
            receiver.fail(1)
            _ = try await client.call(.post, "/api/v1/admin/webhook-deliveries/\(d.id)/redeliver", tenant: f.t.slug, token: admin)
            #expect(try await f.runDue() == 1)
            d = try await f.delivery(d.id)
            #expect(d.status == .failed && d.attempts == 13)
        }
    }

    @Test("a redeliver while a retry is scheduled replaces it: one attempt now, the old job does nothing")
    func redeliverSupersedes() async throws {
        let f = try await WebhookFixture.make()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let (id, _) = try await f.endpoint(client, token: token, url: receiver.url)
            receiver.fail(1)
            #expect(try await f.fanout("record.updated") == 1)
            #expect(try await f.runDue() == 1)
            let d = try #require(try await f.deliveries(id).first)
            #expect(d.status == .pending && d.attempts == 1)
            let r = try await client.call(.post, "/api/v1/admin/webhook-deliveries/\(d.id)/redeliver", tenant: f.t.slug, token: token)
            #expect(r.status == 202)
            #expect(try await f.runDue() == 1)
            #expect(try await f.delivery(d.id).status == .delivered)
            f.clock.advance(60)
            #expect(try await f.runDue() == 1)   // the superseded retry runs and sends nothing
            #expect(receiver.captured.count == 2)
            #expect(try await f.delivery(d.id).attempts == 2)
        }
    }

    @Test("a redirect is not followed: the 3xx is a failed attempt, and nothing reaches the place it points to")
    func redirectNotFollowed() async throws {
        let f = try await WebhookFixture.make()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let (id, _) = try await f.endpoint(client, token: token, url: receiver.url + "/redirect")
            #expect(try await f.fanout("record.updated") == 1)
            #expect(try await f.runDue() == 1)
            #expect(receiver.captured.map(\.path) == ["/hook/redirect"])
            let d = try #require(try await f.deliveries(id).first)
            #expect(d.status == .pending && d.lastStatusCode == 302 && d.attempts == 1)
        }
    }
}
