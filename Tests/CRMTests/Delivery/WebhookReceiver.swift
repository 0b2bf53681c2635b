import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A real HTTP receiver on 127.0.0.1 for the webhook tests: records every request (headers and
/// raw body) and answers 200, or the failing status while failures are left; a path ending in
/// /redirect answers 302 to /hook/landed.
final class WebhookReceiver: Sendable {
    struct Captured: Sendable {
        var path: String
        var headers: [String: String]
        var body: [UInt8]
        func header(_ name: String) -> String? { headers[name.lowercased()] }
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    }

    private let requests: NIOLockedValueBox<[Captured]>
    private let failures: NIOLockedValueBox<(left: Int, status: Int)>
    private let task: Task<Void, Error>
    let port: Int

    var url: String { "http://127.0.0.1:\(port)/hook" }
    var captured: [Captured] { requests.withLockedValue { $0 } }

    /// The next `count` requests get `status`.
    func fail(_ count: Int, status: Int = 500) { failures.withLockedValue { $0 = (count, status) } }

    private init(task: Task<Void, Error>, port: Int, requests: NIOLockedValueBox<[Captured]>,
                 failures: NIOLockedValueBox<(left: Int, status: Int)>) {
        self.task = task
        self.port = port
        self.requests = requests
        self.failures = failures
    }

    static func start() async throws -> WebhookReceiver {
        let requests = NIOLockedValueBox<[Captured]>([])
        let failures = NIOLockedValueBox<(left: Int, status: Int)>((0, 500))
        let router = Router()
        router.post("**") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            requests.withLockedValue { $0.append(Captured(path: request.uri.path, headers: headers, body: Array(buffer: body))) }
            // A redirect towards another path: a sender must not follow it.
            if request.uri.path.hasSuffix("/redirect") { return Response(status: .found, headers: [.location: "/hook/landed"]) }
            let status: Int? = failures.withLockedValue { f in
                guard f.left > 0 else { return nil }
                f.left -= 1
                return f.status
            }
            return Response(status: HTTPResponse.Status(code: status ?? 200))
        }
        let port = NIOLockedValueBox<Int?>(nil)
        var logger = Logger(label: "test.webhook-receiver")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in port.withLockedValue { $0 = channel.localAddress?.port } },
                              logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        let deadline = ContinuousClock.now + .seconds(10)
        while port.withLockedValue({ $0 }) == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        guard let bound = port.withLockedValue({ $0 }) else { throw TestFailure("the webhook receiver did not start") }
        return WebhookReceiver(task: task, port: bound, requests: requests, failures: failures)
    }

    func stop() { task.cancel() }
}
