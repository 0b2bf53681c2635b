import CRMCore
import Foundation
import PostgresNIO
import Testing

/// Helpers of the notice suites: notices written as the modules write them, delivery with a
/// job kind of the test's own (so its runner claims only its own e-mails), and a real SMTP sink.
enum NoticeFixture {
    /// Writes a notice into the tenant's outbox, as a module or the workflow does; its id.
    @discardableResult
    static func notice(_ services: AppServices, _ tenant: Tenant, kind: String, _ payload: [String: Any], at: Date) async throws -> UUID {
        let id = UUID()
        let json = String(decoding: try JSONSerialization.data(withJSONObject: payload), as: UTF8.self)
        try await services.db.transaction(for: try tenant.schema()) { tx in
            try await tx.execute("""
                INSERT INTO outbox (id, kind, payload, created_at, deliver_after) VALUES (\(id), \(kind), \(json)::jsonb, \(at), \(at))
                """)
        }
        return id
    }

    static func deliver(_ services: AppServices, _ tenant: Tenant, jobs: JobQueue, mailKind: String, at: Date) async throws -> Int {
        try await services.db.transaction(for: try tenant.schema()) { tx in
            try await NoticeDelivery(tenant: tenant, jobs: jobs, mailJobKind: mailKind).deliver(now: at, logger: services.db.logger, in: tx)
        }
    }

    /// A user made by the admin with this display name; id, e-mail and token.
    static func user(_ f: RecordsFixture, name: String, local: String) async throws -> (id: String, email: String, token: String) {
        let email = "\(local)-\(UUID().compactHex.prefix(6))@\(f.t.slug).example"
        let r = try await f.call(.post, "/api/v1/admin/users", json: ["email": email, "name": name, "password": Fixtures.password])
        guard r.status == 201, let id = r.object["id"] as? String else { throw TestFailure("user: \(r.status) \(r.text)") }
        let token = try await f.client.login(f.t.slug, email, Fixtures.password, address: "10.8.\(Int.random(in: 1...250)).\(Int.random(in: 1...250))")
        return (id.lowercased(), email, token)
    }

    /// The first column of each row of a query of the tenant's, as text.
    static func texts(_ services: AppServices, _ tenant: Tenant, _ sql: String) async throws -> [String] {
        try await services.db.transaction(for: try tenant.schema()) { tx in
            var out: [String] = []
            for try await row in try await tx.query(PostgresQuery(unsafeSQL: sql)).decode(String.self) { out.append(row) }
            return out
        }
    }
}

/// `ops/smtp-sink.py` run by the test (python3 is all it needs): each message it takes is a
/// JSON file in its folder with the envelope, the decoded headers and the body.
final class MailSink: @unchecked Sendable {
    let process: Process
    let folder: URL
    let port: Int

    static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("ops/smtp-sink.py")
    }

    /// Starts a sink (on `port`, or a free one) writing to `folder` (a new one by default).
    static func start(port: Int = 0, folder: URL? = nil, arguments: [String] = []) throws -> MailSink {
        let folder = folder ?? FileManager.default.temporaryDirectory.appendingPathComponent("mail-\(UUID().compactHex)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // It stops when our end of its standard input closes: a test process that dies takes it along.
        process.arguments = ["python3", script.path, "--dir", folder.path, "--port", String(port), "--exit-on-eof"] + arguments
        let out = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardInput = input
        try process.run()
        // The first line says the port once the server listens.
        var text = ""
        while !text.contains("\n") {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { throw TestFailure("the SMTP sink did not start: \(text)") }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, let bound = Int(line.split(separator: ":").last ?? "") else {
            process.terminate()
            throw TestFailure("the SMTP sink said: \(text)")
        }
        return MailSink(process: process, input: input, folder: folder, port: bound)
    }

    let input: Pipe

    private init(process: Process, input: Pipe, folder: URL, port: Int) {
        self.process = process
        self.input = input
        self.folder = folder
        self.port = port
    }

    /// The messages taken so far, in order.
    func messages() throws -> [[String: Any]] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return try names.filter { $0.hasSuffix(".json") }.sorted().map { name in
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        }
    }

    func stop() {
        // SIGKILL: the test process blocks signals, and its children inherit that mask.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? input.fileHandleForWriting.close()
    }

    deinit { stop() }
}

extension Dictionary where Key == String, Value == Any {
    /// A decoded header of a sink message.
    func header(_ name: String) -> String? { (self["headers"] as? [String: Any])?[name] as? String }
}
