@testable import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Webhooks: the admin API")
struct WebhookAdminTests {
    @Test("URLs into the server's own network are refused (400 naming url), when saved and again when sent")
    func ssrf() async throws {
        let f = try await WebhookFixture.make(allowPrivate: false)
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let refused: [(String, String)] = [
                ("http://93.184.215.14/hook", "https_required"),
                ("https://127.0.0.1/hook", "private_address"),
                ("https://localhost:8443/hook", "private_address"),
                ("https://10.1.2.3/", "private_address"),
                ("https://172.16.0.1/", "private_address"),
                ("https://192.168.1.1/", "private_address"),
                ("https://169.254.169.254/latest/meta-data/", "private_address"),
                ("https://0.0.0.0/", "private_address"),
                ("https://2130706433/", "private_address"),          // 127.0.0.1 written as a number
                ("https://[::1]/", "private_address"),
                ("https://[fd00:ec2::254]/", "private_address"),
                ("https://[fe80::1]/", "private_address"),
                ("https://[::ffff:10.0.0.1]/", "private_address"),
                ("ftp://93.184.215.14/", "unsupported_scheme"),
                ("file:///etc/passwd", "unsupported_scheme"),
                ("https://user:pw@93.184.215.14/", "credentials_in_url"),
                ("https://93.184.215.14/a b", "invalid_url"),
                ("not a url", "invalid_url"),
                ("https://x.invalid/", "unresolvable_host"),
                ("https://93.184.215.14/" + String(repeating: "a", count: 2000), "too_long"),
            ]
            for (url, code) in refused {
                let r = try await client.call(.post, "/api/v1/admin/webhooks", tenant: f.t.slug, token: token,
                                              json: ["url": url, "events": ["*"]])
                #expect(r.status == 400 && r.fieldNames == ["url"] && r.fieldCodes == [code], "\(url.prefix(60)): \(r.status) \(r.text.prefix(300))")
            }
            // A public address is taken; changing it to a private one is refused.
            let ok = try await client.call(.post, "/api/v1/admin/webhooks", tenant: f.t.slug, token: token,
                                           json: ["url": "https://93.184.215.14/hook", "events": ["*"]])
            #expect(ok.status == 201)
            let id = try #require(ok.object["id"] as? String)
            let moved = try await client.call(.patch, "/api/v1/admin/webhooks/\(id)", tenant: f.t.slug, token: token,
                                              json: ["url": "https://127.0.0.1/hook"])
            #expect(moved.status == 400 && moved.fieldNames == ["url"])
            let list = try await client.call(.get, "/api/v1/admin/webhooks", tenant: f.t.slug, token: token)
            #expect(list.data.count == 1 && list.data.first?["url"] as? String == "https://93.184.215.14/hook")
        }

        // Saved while private addresses were allowed, sent by a server where they are not: refused at send time.
        let loose = try await WebhookFixture.make(allowPrivate: true)
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: loose.services).run { client in
            let token = try await loose.admin(client)
            let (id, _) = try await loose.endpoint(client, token: token, url: receiver.url.replacingOccurrences(of: "http:", with: "https:"))
            #expect(try await loose.fanout("record.updated") == 1)
            var strict = loose.services
            strict.webhooks = Webhooks(jobs: strict.jobs, clock: loose.clock, policy: WebhookURLPolicy(allowPrivate: false),
                                       backoff: WebhookBackoff(jitter: 0), jobKind: loose.services.webhooks.jobKind)
            let runner = JobRunner(queue: strict.jobs, scheduler: strict.jobSchedules,
                                   configuration: .init(kinds: [strict.webhooks.jobKind], workerId: "webhook-strict"))
            strict.webhooks.register(on: runner)
            #expect(try await runner.runDue(limit: 5) == 1)
            let d = try #require(try await loose.deliveries(id).first)
            #expect(d.status == .pending && d.attempts == 1 && d.lastStatusCode == nil)
            #expect(d.lastError?.hasPrefix("refused:") == true)
            #expect(receiver.captured.isEmpty)
        }
    }

    @Test("every admin call answers bad input with a 4xx naming the field, never a 500; the 21st endpoint is 409 limit-exceeded")
    func badInputs() async throws {
        let f = try await WebhookFixture.make()
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let base = "/api/v1/admin/webhooks"
            let url = "http://127.0.0.1:9/hook"
            let bad: [([String: Any], String, String)] = [
                (["events": ["*"]], "url", "required"),
                (["url": url], "events", "required"),
                (["url": 5, "events": ["*"]], "url", "invalid_type"),
                (["url": url, "events": []], "events", "required"),
                (["url": url, "events": "record.updated"], "events", "invalid_type"),
                (["url": url, "events": [1]], "events", "invalid_type"),
                (["url": url, "events": ["record.update"]], "events", "invalid_event"),
                (["url": url, "events": ["Record.Updated"]], "events", "invalid_event"),
                (["url": url, "events": ["record.*.x"]], "events", "invalid_event"),
                (["url": url, "events": ["**"]], "events", "invalid_event"),
                (["url": url, "events": ["record"]], "events", "invalid_event"),
                (["url": url, "events": Array(repeating: "record.updated", count: 51)], "events", "too_many"),
                (["url": url, "events": ["*"], "objects": []], "objects", "empty"),
                (["url": url, "events": ["*"], "objects": ["nope"]], "objects", "unknown_object"),
                (["url": url, "events": ["*"], "objects": ["Bad Name"]], "objects", "invalid_object"),
                (["url": url, "events": ["*"], "objects": "customer"], "objects", "invalid_type"),
                (["url": url, "events": ["*"], "description": String(repeating: "d", count: 501)], "description", "too_long"),
                (["url": url, "events": ["*"], "description": 3], "description", "invalid_type"),
                (["url": url, "events": ["*"], "active": "yes"], "active", "invalid_type"),
                (["url": url, "events": ["*"], "secret": "whsec_mine"], "secret", "unknown_field"),
                (["url": String(repeating: "h", count: 2001), "events": ["*"]], "url", "too_long"),
            ]
            for (body, field, code) in bad {
                let r = try await client.call(.post, base, tenant: f.t.slug, token: token, json: body)
                #expect(r.status == 400 && r.fieldNames.contains(field) && r.fieldCodes.contains(code), "\(body): \(r.status) \(r.text.prefix(300))")
            }
            for raw in ["[]", "\"x\"", "{", "{\"url\":", "null"] {
                let r = try await client.call(.post, base, tenant: f.t.slug, token: token, raw: raw)
                #expect(r.status == 400, "\(raw): \(r.status) \(r.text.prefix(200))")
            }
            let text = try await client.call(.post, base, tenant: f.t.slug, token: token, raw: "url=x", contentType: "text/plain")
            #expect(text.status == 415)

            let (id, _) = try await f.endpoint(client, token: token, url: url)
            for (body, field) in [(["events": []], "events"), (["url": "ftp://x"], "url"), (["objects": ["nope"]], "objects"),
                                  (["active": 1], "active"), (["color": "red"], "color")] as [([String: Any], String)] {
                let r = try await client.call(.patch, "\(base)/\(id)", tenant: f.t.slug, token: token, json: body)
                #expect(r.status == 400 && r.fieldNames.contains(field), "PATCH \(body): \(r.status) \(r.text.prefix(200))")
            }
            // Nothing was changed by the refused calls.
            let shown = try await client.call(.get, "\(base)/\(id)", tenant: f.t.slug, token: token)
            #expect(shown.object["url"] as? String == url && shown.object["events"] as? [String] == ["*"] && shown.object["active"] as? Bool == true)
            // A valid change, and clearing the object filter with null.
            let changed = try await client.call(.patch, "\(base)/\(id)", tenant: f.t.slug, token: token,
                                                json: ["objects": ["customer"], "description": "ERP", "events": ["record.*", "record.*"]])
            #expect(changed.status == 200 && changed.object["objects"] as? [String] == ["customer"] && changed.object["events"] as? [String] == ["record.*"])
            let cleared = try await client.call(.patch, "\(base)/\(id)", tenant: f.t.slug, token: token, json: ["objects": NSNull()])
            #expect(cleared.status == 200 && cleared.object["objects"] is NSNull && cleared.object["description"] as? String == "ERP")

            for query in ["status=bogus", "limit=0", "limit=201", "limit=x", "cursor=not-a-cursor"] {
                let r = try await client.call(.get, "\(base)/\(id)/deliveries?\(query)", tenant: f.t.slug, token: token)
                let field = String(query.prefix { $0 != "=" })
                #expect(r.status == 400 && r.fieldNames == [field], "\(query): \(r.status) \(r.text.prefix(200))")
            }
            // Ids that name nothing: 404 on every call.
            for bogus in ["not-a-uuid", UUID().uuidString] {
                for (method, path) in [(HTTPRequest.Method.get, "\(base)/\(bogus)"), (.patch, "\(base)/\(bogus)"), (.delete, "\(base)/\(bogus)"),
                                       (.post, "\(base)/\(bogus)/rotate-secret"), (.post, "\(base)/\(bogus)/test"),
                                       (.get, "\(base)/\(bogus)/deliveries"), (.post, "/api/v1/admin/webhook-deliveries/\(bogus)/redeliver")] {
                    let r = try await client.call(method, path, tenant: f.t.slug, token: token, json: method == .patch ? ["active": false] : nil)
                    #expect(r.status == 404, "\(method) \(path): \(r.status)")
                }
            }
            // Inactive: no test event, no redelivery.
            _ = try await client.call(.patch, "\(base)/\(id)", tenant: f.t.slug, token: token, json: ["active": false])
            let test = try await client.call(.post, "\(base)/\(id)/test", tenant: f.t.slug, token: token)
            #expect(test.status == 409)

            // The limit: 20 per tenant.
            for _ in 0..<(Webhooks.maxEndpoints - 1) { _ = try await f.endpoint(client, token: token, url: url) }
            let over = try await client.call(.post, base, tenant: f.t.slug, token: token, json: ["url": url, "events": ["*"]])
            #expect(over.status == 409 && over.problemType == "limit-exceeded")
            #expect(try await client.call(.delete, "\(base)/\(id)", tenant: f.t.slug, token: token).status == 204)
            #expect(try await client.call(.post, base, tenant: f.t.slug, token: token, json: ["url": url, "events": ["*"]]).status == 201)

            // Without manage_settings: 403.
            let user = try await client.call(.post, "/api/v1/admin/users", tenant: f.t.slug, token: token,
                                             json: ["email": "rep@\(f.t.slug).example", "name": "Rep", "password": Fixtures.password])
            #expect(user.status == 201)
            let rep = try await client.login(f.t.slug, "rep@\(f.t.slug).example", Fixtures.password, address: f.address)
            #expect(try await client.call(.get, base, tenant: f.t.slug, token: rep).status == 403)
            #expect(try await client.call(.post, base, tenant: f.t.slug, token: rep, json: ["url": url, "events": ["*"]]).status == 403)
        }
    }

    @Test("another tenant's endpoints and deliveries are 404 on every call")
    func isolation() async throws {
        let a = try await WebhookFixture.make()
        let b = try await Fixtures.tenant(a.services)
        try await TestAPI(services: a.services).run { client in
            let tokenA = try await a.admin(client)
            let (id, _) = try await a.endpoint(client, token: tokenA, url: "http://127.0.0.1:9/hook")
            #expect(try await a.fanout("record.updated") == 1)
            let delivery = try #require(try await a.deliveries(id).first)
            let tokenB = try await client.login(b.slug, b.adminEmail, b.adminPassword, address: a.address)
            let base = "/api/v1/admin/webhooks"
            for (method, path) in [(HTTPRequest.Method.get, "\(base)/\(id)"), (.patch, "\(base)/\(id)"), (.delete, "\(base)/\(id)"),
                                   (.post, "\(base)/\(id)/rotate-secret"), (.post, "\(base)/\(id)/test"), (.get, "\(base)/\(id)/deliveries"),
                                   (.post, "/api/v1/admin/webhook-deliveries/\(delivery.id)/redeliver")] {
                let r = try await client.call(method, path, tenant: b.slug, token: tokenB, json: method == .patch ? ["active": false] : nil)
                #expect(r.status == 404, "\(method) \(path): \(r.status)")
            }
            let list = try await client.call(.get, base, tenant: b.slug, token: tokenB)
            #expect(list.status == 200 && list.data.isEmpty)
            // Nothing of A's changed.
            let shown = try await client.call(.get, "\(base)/\(id)", tenant: a.t.slug, token: tokenA)
            #expect(shown.status == 200 && shown.object["active"] as? Bool == true)
        }
    }

    @Test("the tenant's OpenAPI document has every webhook call, for callers who may manage settings")
    func documented() async throws {
        let f = try await WebhookFixture.make()
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let document = try await client.call(.get, "/api/v1/openapi.json", tenant: f.t.slug, token: token)
            let paths = try #require(document.object["paths"] as? [String: [String: Any]])
            let expected: [String: Set<String>] = [
                "/api/v1/admin/webhooks": ["get", "post"],
                "/api/v1/admin/webhooks/{id}": ["get", "patch", "delete"],
                "/api/v1/admin/webhooks/{id}/rotate-secret": ["post"],
                "/api/v1/admin/webhooks/{id}/deliveries": ["get"],
                "/api/v1/admin/webhooks/{id}/test": ["post"],
                "/api/v1/admin/webhook-deliveries/{id}/redeliver": ["post"],
            ]
            for (path, methods) in expected {
                let item = try #require(paths[path], "\(path) is not documented")
                #expect(methods.isSubset(of: Set(item.keys)), "\(path): \(item.keys.sorted())")
            }
        }
    }
}
