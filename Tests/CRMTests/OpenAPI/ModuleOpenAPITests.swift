@testable import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The calls the approvals and workflow modules add are in the tenant's document exactly as the
/// router has them, for the callers who may make them, while the module is on; and what the
/// server answers validates against what the document says of that call and status.
@Suite("OpenAPI: the approvals and workflow calls")
struct ModuleOpenAPITests {
    /// The documented operations (`METHOD /path`) of the module calls: approvals and workflow tags.
    static func operations(_ document: APIResponse, tags: Set<String> = ["approvals", "workflow"]) -> Set<String> {
        let paths = document.object["paths"] as? [String: [String: Any]] ?? [:]
        var out = Set<String>()
        for (path, item) in paths {
            for (method, operation) in item {
                guard let tagged = (operation as? [String: Any])?["tags"] as? [String], !tags.isDisjoint(with: tagged) else { continue }
                out.insert("\(method.uppercased()) \(path)")
            }
        }
        return out
    }

    /// The routes a module declares as `METHOD /api/v1/path`, `:object` written out for each of
    /// `objects`; `admin`: also those needing `manage_settings`.
    static func routes(_ module: any CRMModule, objects: [String], admin: Bool) -> Set<String> {
        var out = Set<String>()
        for route in module.routes where admin || route.capability == nil {
            let parts = route.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            let names = parts.contains("{object}") ? objects : [""]
            for object in names {
                let path = "/api/v1/" + parts.map { $0 == "{object}" ? object : $0 }.joined(separator: "/")
                out.insert("\(route.method.rawValue) \(path)")
            }
        }
        return out
    }

    static func readable(_ f: RecordsFixture, as token: String? = nil) async throws -> [String] {
        try await f.call(.get, "/api/v1/objects", as: token).data.compactMap { $0["api_name"] as? String }
    }

    @Test("Every approvals and workflow route is documented with its method, nothing more, for the callers who may call it, while the module is on")
    func listed() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client, plan: "enterprise")
            let f = a.f
            // Workflow off: the approvals calls (always on), none of workflow's.
            let off = try await f.call(.get, "/api/v1/openapi.json")
            let objects = try await Self.readable(f)
            #expect(Self.operations(off) == Self.routes(ApprovalsModule(), objects: objects, admin: true),
                    "documented but no route: \(Self.operations(off).subtracting(Self.routes(ApprovalsModule(), objects: objects, admin: true)).sorted()); route not documented: \(Self.routes(ApprovalsModule(), objects: objects, admin: true).subtracting(Self.operations(off)).sorted())")

            try await f.enable("workflow")
            let on = try await f.call(.get, "/api/v1/openapi.json")
            let withWorkflow = try await Self.readable(f)
            let expected = Self.routes(ApprovalsModule(), objects: withWorkflow, admin: true)
                .union(Self.routes(WorkflowModule(), objects: withWorkflow, admin: true))
            let documented = Self.operations(on)
            #expect(documented == expected, "documented but no route: \(documented.subtracting(expected).sorted()); route not documented: \(expected.subtracting(documented).sorted())")
            let (ok, output) = try OpenAPITests.validate(on.text)
            #expect(ok, "openapi-spec-validator: \(output)")

            // A sales rep: no process admin, no cancel, no workflow admin; the rest as for anyone.
            let rep = try await f.call(.get, "/api/v1/openapi.json", as: a.token("rep"))
            let repObjects = try await Self.readable(f, as: a.token("rep"))
            let forRep = Self.routes(ApprovalsModule(), objects: repObjects, admin: false)
                .union(Self.routes(WorkflowModule(), objects: repObjects, admin: false))
            #expect(Self.operations(rep) == forRep, "rep: documented but no route: \(Self.operations(rep).subtracting(forRep).sorted()); missing: \(forRep.subtracting(Self.operations(rep)).sorted())")
            #expect(try OpenAPITests.validate(rep.text).ok)
        }
    }

    /// Whether each answer validates against the document: its status is documented for the
    /// operation, and its body against that status's schema (jsonschema with formats, the
    /// document's components resolved). The reasons of those that do not.
    static func misfits(_ document: String, _ answers: [(method: String, path: String, response: APIResponse)]) throws -> [String] {
        let dir = FileManager.default.temporaryDirectory
        let docFile = dir.appendingPathComponent("doc-\(UUID().compactHex).json")
        let answersFile = dir.appendingPathComponent("answers-\(UUID().compactHex).json")
        try Data(document.utf8).write(to: docFile)
        let list: [[Any]] = answers.map { [$0.method.lowercased(), $0.path, $0.response.status, $0.response.text] }
        try JSONSerialization.data(withJSONObject: list).write(to: answersFile)
        defer { try? FileManager.default.removeItem(at: docFile); try? FileManager.default.removeItem(at: answersFile) }
        let script = """
            import json, sys
            from jsonschema import Draft202012Validator
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012
            doc = json.load(open(sys.argv[1])); answers = json.load(open(sys.argv[2]))
            registry = Registry().with_resource("urn:doc", Resource.from_contents(doc, default_specification=DRAFT202012))
            def pointer(*parts):
                return "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)
            out = []
            for method, path, status, text in answers:
                where = "%s %s %d" % (method.upper(), path, status)
                op = doc["paths"].get(path, {}).get(method)
                if op is None:
                    out.append(where + ": not documented"); continue
                response = op["responses"].get(str(status))
                if response is None:
                    out.append(where + ": status not documented"); continue
                content = response.get("content", {})
                if not content:
                    if text:
                        out.append(where + ": a body where none is documented")
                    continue
                media = "application/problem+json" if status >= 400 else "application/json"
                if media not in content:
                    out.append(where + ": no " + media); continue
                schema = {"$ref": "urn:doc#/" + pointer("paths", path, method, "responses", str(status), "content", media, "schema")}
                validator = Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
                errors = sorted(validator.iter_errors(json.loads(text)), key=lambda e: list(e.path))
                for e in errors[:3]:
                    out.append("%s: %s at %s" % (where, e.message[:300], "/".join(str(p) for p in e.path)))
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, docFile.path, answersFile.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard let found = try? JSONSerialization.jsonObject(with: output) as? [String] else {
            throw TestFailure("validator: \(String(decoding: output, as: UTF8.self))")
        }
        return found
    }

    @Test("The approvals and workflow answers (2xx and problems) validate against the document")
    func answersValidate() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client, plan: "enterprise")
            let f = a.f
            try await f.enable("workflow")
            var answers: [(method: String, path: String, response: APIResponse)] = []
            /// Calls `uri` and keeps the answer under its documented `path`.
            func call(_ method: HTTPRequest.Method, _ uri: String, _ path: String, as key: String? = nil, json: Any? = nil,
                      expect status: Int) async throws -> APIResponse {
                let r = try await f.call(method, uri, as: key.map(a.token), json: json)
                #expect(r.status == status, "\(method) \(uri): \(r.status) \(r.text.prefix(300))")
                answers.append((method.rawValue, path, r))
                return r
            }
            let processes = "/api/v1/admin/approval-processes", process = processes + "/{id}"
            _ = try await call(.post, processes, processes, json: ["object": "customer", "name": "Nope", "steps": []], expect: 400)
            let made = try await call(.post, processes, processes, json: [
                "object": "customer", "name": "Big deals", "description": "Over 1000", "priority": 5,
                "entry_criteria": ["all": [["field": "amount", "op": "gt", "value": 1000], ["not": ["field": "name", "op": "empty"]]]],
                "watched_fields": ["amount"],
                "steps": [["name": "Lead", "approvers": ["type": "manager_chain", "levels": 1], "mode": "any",
                           "timeout": ["hours": 8, "action": "escalate_to_manager"], "editable_fields": ["description"]],
                          ["approvers": ["type": "role", "role_id": a.financeRole], "mode": "all", "empty_approver": "auto_approve",
                           "criteria": ["field": "amount", "op": "gte", "value": 5000]]],
            ], expect: 201)
            let pid = try #require(made.object["id"] as? String)
            _ = try await call(.get, processes, processes, expect: 200)
            _ = try await call(.get, "\(processes)/\(pid)", process, expect: 200)
            _ = try await call(.get, "\(processes)/\(UUID())", process, expect: 404)
            _ = try await call(.get, "\(processes)/\(pid)", process, as: "rep", expect: 403)
            _ = try await call(.patch, "\(processes)/\(pid)", process, json: ["object": "contact"], expect: 400)
            _ = try await call(.patch, "\(processes)/\(pid)", process, json: ["priority": 6, "allow_recall": true], expect: 200)
            _ = try await call(.post, "\(processes)/\(pid)/publish", process + "/publish", expect: 200)
            _ = try await call(.post, "\(processes)/\(pid)/publish", process + "/publish", expect: 409)
            let deal = try await a.customer(amount: 9000)
            _ = try await call(.post, "\(processes)/\(pid)/test", process + "/test", json: ["record_id": deal, "version": "active"], expect: 200)
            _ = try await call(.post, "\(processes)/\(pid)/test", process + "/test", json: ["record_id": deal, "version": "draft"], expect: 409)

            let submit = "/api/v1/approvals", request = "/api/v1/approvals/{id}"
            let submitted = try await call(.post, submit, submit, as: "rep", json: ["object": "customer", "record_id": deal, "comment": "please"], expect: 201)
            let rid = try #require(submitted.object["id"] as? String)
            _ = try await call(.post, submit, submit, as: "rep", json: ["object": "customer", "record_id": deal], expect: 409)
            _ = try await call(.post, submit, submit, as: "rep", json: ["object": "customer", "record_id": deal, "extra": 1], expect: 400)
            _ = try await call(.get, "/api/v1/approvals/\(rid)", request, as: "rep", expect: 200)
            _ = try await call(.get, "/api/v1/approvals/\(UUID())", request, as: "rep", expect: 404)
            _ = try await call(.get, "/api/v1/records/customer/\(deal)/approval", "/api/v1/records/customer/{id}/approval", as: "rep", expect: 200)
            _ = try await call(.get, "/api/v1/approvals/inbox", "/api/v1/approvals/inbox", as: "lead", expect: 200)
            _ = try await call(.get, "/api/v1/approvals/inbox?status=submitted", "/api/v1/approvals/inbox", as: "rep", expect: 200)
            _ = try await call(.get, "/api/v1/approvals/inbox?status=later", "/api/v1/approvals/inbox", as: "rep", expect: 400)
            let task = try #require(try await a.pending(rid)[a.id("lead")])
            _ = try await call(.post, "/api/v1/approvals/\(rid)/approve", request + "/approve", as: "rep", json: ["task_id": task], expect: 403)
            _ = try await call(.post, "/api/v1/approvals/\(rid)/approve", request + "/approve", as: "lead", json: ["task_id": task, "comment": "fine"], expect: 200)
            _ = try await call(.post, "/api/v1/approvals/\(rid)/reject", request + "/reject", as: "lead", json: ["task_id": task], expect: 409)
            _ = try await call(.get, "/api/v1/approvals/inbox?status=done", "/api/v1/approvals/inbox", as: "lead", expect: 200)
            _ = try await call(.post, "/api/v1/approvals/batch", "/api/v1/approvals/batch", as: "f1",
                               json: ["task_ids": [UUID().uuidString], "decision": "approve"], expect: 200)
            _ = try await call(.post, "/api/v1/approvals/batch", "/api/v1/approvals/batch", as: "f1", json: ["task_ids": [], "decision": "maybe"], expect: 400)
            // Recall by the submitter (twice: the second is 409), cancel by an admin.
            let second = try await a.submitted(try await a.customer(amount: 2000))
            _ = try await call(.post, "/api/v1/approvals/\(second)/recall", request + "/recall", as: "rep", expect: 200)
            _ = try await call(.post, "/api/v1/approvals/\(second)/recall", request + "/recall", as: "rep", expect: 409)
            let third = try await a.submitted(try await a.customer(amount: 3000))
            _ = try await call(.post, "/api/v1/approvals/\(third)/cancel", request + "/cancel", json: ["comment": "not now"], expect: 200)
            _ = try await call(.post, "/api/v1/approvals/\(third)/cancel", request + "/cancel", expect: 409)
            _ = try await call(.get, "/api/v1/records/customer/\(deal)/approval", "/api/v1/records/customer/{id}/approval", as: "rep", expect: 200)

            let delegation = "/api/v1/me/delegation"
            _ = try await call(.get, delegation, delegation, as: "lead", expect: 404)
            _ = try await call(.put, delegation, delegation, as: "lead",
                               json: ["delegate_id": a.id("vp"), "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00+08:00"], expect: 200)
            _ = try await call(.get, delegation, delegation, as: "lead", expect: 200)
            _ = try await call(.put, delegation, delegation, as: "lead", json: ["delegate_id": a.id("lead"), "from": "x", "to": "2026-02-01T00:00:00Z"], expect: 400)
            _ = try await call(.delete, delegation, delegation, as: "lead", expect: 204)

            // Workflow: a manual rule started on a record, the run log, a retry refused, the dry run.
            let rules = "/api/v1/admin/workflow-rules"
            let rule = try await f.call(.post, rules, json: ["object": "customer", "name": "Mark", "trigger": ["type": "manual"],
                                                             "actions": [["type": "notify", "to": ["owner"], "title": "Hi {{name}}"]]])
            let ruleId = try #require(rule.object["id"] as? String, "\(rule.text)")
            _ = try await call(.post, "\(rules)/\(ruleId)/test", rules + "/{id}/test", json: ["record_id": deal], expect: 200)
            _ = try await call(.post, "\(rules)/\(ruleId)/test", rules + "/{id}/test", json: ["record_id": deal, "version": "active"], expect: 409)
            #expect(try await f.call(.post, "\(rules)/\(ruleId)/publish").status == 200)
            _ = try await call(.post, "\(rules)/\(ruleId)/test", rules + "/{id}/test", json: ["record_id": deal, "version": "active"], expect: 200)
            let started = try await call(.post, "/api/v1/records/customer/\(deal)/actions/\(ruleId)", "/api/v1/records/customer/{id}/actions/{rule_id}",
                                         as: "rep", expect: 200)
            _ = try await call(.post, "/api/v1/records/customer/\(deal)/actions/\(UUID())", "/api/v1/records/customer/{id}/actions/{rule_id}",
                               as: "rep", expect: 404)
            let run = try #require(started.object["id"] as? String)
            let runs = "/api/v1/admin/workflow-runs"
            _ = try await call(.get, "\(runs)?rule_id=\(ruleId)&limit=1", runs, expect: 200)
            _ = try await call(.get, "\(runs)?status=running", runs, expect: 400)
            _ = try await call(.get, "\(runs)/\(run)", runs + "/{id}", expect: 200)
            _ = try await call(.get, "\(runs)/\(run)", runs + "/{id}", as: "rep", expect: 403)
            _ = try await call(.post, "\(runs)/\(run)/retry", runs + "/{id}/retry", expect: 409)
            _ = try await call(.post, "\(runs)/\(UUID())/retry", runs + "/{id}/retry", expect: 404)

            let document = try await f.call(.get, "/api/v1/openapi.json")
            let misfits = try Self.misfits(document.text, answers)
            #expect(misfits.isEmpty, "\(misfits.joined(separator: "\n"))")
            // The rep's answers against the rep's own document too (no admin schemas there).
            let repDocument = try await f.call(.get, "/api/v1/openapi.json", as: a.token("rep"))
            let repMisfits = try Self.misfits(repDocument.text, answers.filter { a in
                a.response.status < 400 && !a.path.contains("/admin/") && !a.path.hasSuffix("/cancel")
            })
            #expect(repMisfits.isEmpty, "\(repMisfits.joined(separator: "\n"))")
        }
    }
}
