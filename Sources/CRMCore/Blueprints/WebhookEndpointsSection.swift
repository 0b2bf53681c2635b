import Foundation

/// `webhooks.endpoints`: the tenant's webhook endpoints, each known by its URL (an endpoint has
/// no other name). The signing secret is never read into a blueprint: an apply that creates an
/// endpoint generates one, as the admin API does, and returns it once in the outcome.
struct WebhookEndpointsSection: BlueprintSection {
    var key: String { "webhooks" }
    var lists: [String] { ["endpoints"] }
    /// How other sections (a rule's webhook action) find an endpoint: by URL.
    static let kind = "webhook_endpoint"
    static let members: Set<String> = ["url", "description", "events", "objects", "active"]

    func check(_ section: Blueprint.Section, in bp: Blueprint) -> [(Blueprint.Position, String)] {
        var problems: [(Blueprint.Position, String)] = []
        var seen = Set<String>()
        for (i, e) in section["endpoints"].enumerated() {
            let label = Blueprint.Entry.label(key, "endpoints", i, e.text("url"))
            for k in e.value.keys.sorted() where !Self.members.contains(k) {
                problems.append((e.at(k), "\(label): unknown key '\(k.prefix(40))'; known keys: \(Self.members.sorted().joined(separator: ", "))."))
            }
            guard let url = e.text("url") else { problems.append((e.at("url"), "\(label): url: A webhook endpoint needs a url (its key)."));  continue }
            if !seen.insert(url).inserted { problems.append((e.at, "\(label): the url appears twice; an endpoint is known by its url.")) }
        }
        return problems
    }

    func converge(_ section: Blueprint.Section, in run: BlueprintRun) async throws {
        let webhooks = run.services.webhooks
        var have: [String: WebhookEndpoint] = [:]
        for endpoint in try await webhooks.list(in: run.tx) {
            if have[endpoint.url] != nil {
                throw BlueprintProblems([BlueprintProblem(file: run.file, at: section.at,
                    "The tenant has two webhook endpoints for \(endpoint.url); delete one (admin API) before applying a blueprint.")])
            }
            have[endpoint.url] = endpoint
        }
        var ids = have.mapValues(\.id)
        for (i, e) in section["endpoints"].enumerated() {
            let url = e.text("url") ?? ""
            let label = Blueprint.Entry.label(key, "endpoints", i, url)
            // The same checks as the admin API's create, the private-address rule included.
            let input = try await run.at(e, label) { try await webhooks.check(.object(e.value), creating: true) }
            if let current = have[url] {
                var what: [String] = []
                if current.description != (input.description ?? "") { what.append("description") }
                if current.events != input.events { what.append("events") }
                if current.objects != (input.objects ?? nil) { what.append("objects") }
                if current.active != (input.active ?? true) { what.append("active \(input.active ?? true)") }
                guard !what.isEmpty else { continue }
                var full = input
                full.description = input.description ?? ""
                full.objects = .some(input.objects ?? nil)
                full.active = input.active ?? true
                _ = try await run.at(e, label) { try await webhooks.update(current.id, full, actor: run.actor, meta: run.meta, in: run.tx) }
                run.changes.append("~ webhook endpoint \(url): " + what.joined(separator: ", "))
            } else {
                let made = try await run.at(e, label) { try await webhooks.create(input, actor: run.actor, meta: run.meta, in: run.tx) }
                ids[url] = made.id
                if let secret = made.secret { run.secrets.append((url, secret)) }
                run.changes.append("+ webhook endpoint \(url) (\((input.events ?? []).joined(separator: ", ")))")
            }
        }
        let wanted = Set(section["endpoints"].compactMap { $0.text("url") })
        for (url, endpoint) in have.sorted(by: { $0.key < $1.key }) where !wanted.contains(url) {
            if run.prune {
                try await webhooks.delete(endpoint.id, actor: run.actor, meta: run.meta, in: run.tx)
                ids[url] = nil
                run.changes.append("- webhook endpoint \(url) (deleted with its delivery log)")
            } else {
                run.notInFile.append("webhook endpoint \(url)")
            }
        }
        run.keys[Self.kind] = ids
    }

    func export(in run: BlueprintRun) async throws -> Blueprint.Section {
        var out = Blueprint.Section(key: key)
        var ids: [String: UUID] = [:]
        var entries: [Blueprint.Entry] = []
        for endpoint in try await run.services.webhooks.list(in: run.tx).sorted(by: { $0.url < $1.url }) {
            if ids[endpoint.url] != nil {
                throw CRMError.conflict("Two webhook endpoints send to \(endpoint.url); a blueprint knows endpoints by URL, so delete one before exporting.")
            }
            ids[endpoint.url] = endpoint.id
            // Never the secret: the receiver of a new tenant's endpoint gets a new one.
            var value: [String: JSONValue] = ["url": .string(endpoint.url), "events": .array(endpoint.events.map { .string($0) })]
            if !endpoint.description.isEmpty { value["description"] = .string(endpoint.description) }
            if let objects = endpoint.objects { value["objects"] = .array(objects.map { .string($0) }) }
            if !endpoint.active { value["active"] = .bool(false) }
            entries.append(Blueprint.Entry(value))
        }
        run.keys[Self.kind] = ids
        out.lists["endpoints"] = entries
        return out
    }
}
