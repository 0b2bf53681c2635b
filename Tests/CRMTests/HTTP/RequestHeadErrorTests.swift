import CRMCore
import CRMHTTP
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("HTTP: requests refused on their head (the parser's limits, bodies not worth reading)")
struct RequestHeadErrorTests {
    /// The real server (not the router alone): the HTTP parser runs only on a live connection.
    static func liveApp(_ services: AppServices) -> some ApplicationProtocol {
        var logger = Logger(label: "test.http")
        logger.logLevel = .warning
        return Application(router: HTTPServer.router(services: services, logger: logger), server: HTTPServer.serverBuilder,
                           configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
    }

    @Test("a URL past 80 KiB is a 431 problem with X-Request-Id, not an empty 400; a garbled request a 400 problem")
    func requestHeadTooLarge() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        try await Self.liveApp(services).test(.live) { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            // Under the limit, 60 short filters are the route's own answer (a 400 naming the filter).
            let fewer = (0..<60).map { "filter%5Bname%5D%5Beq%5D=x\($0)" }.joined(separator: "&")
            let short = try await client.call(.get, "/api/v1/records/customer?" + fewer, tenant: t.slug, token: token)
            #expect(short.status == 400 && short.fieldNames.allSatisfy { $0.hasPrefix("filter") } && !short.fieldNames.isEmpty, "\(short.status) \(short.text.prefix(200))")
            // 60 filters of 1,500 characters: what the fuzzer sent.
            let filters = (0..<60).map { _ in "filter%5Bname%5D%5Beq%5D=" + String(repeating: "0", count: 1_500) }.joined(separator: "&")
            let r = try await client.call(.get, "/api/v1/records/customer?" + filters, tenant: t.slug, token: token)
            #expect(r.status == 431, "\(r.status) \(r.text.prefix(200))")
            #expect(r.header("Content-Type") == "application/problem+json" && r.problemType == "request-head-too-large")
            #expect(r.header("X-Request-Id") != nil)
            #expect(r.fieldNames == ["url"])
            let port = client.port!
            let garbled = try await Self.raw(port: port, "GET /api/v1/me HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n").text
            #expect(garbled.hasPrefix("HTTP/1.1 400"), "\(garbled.prefix(200))")
            #expect(garbled.contains("application/problem+json") && garbled.contains("X-Request-Id") && garbled.contains("malformed-body"))
        }
    }

    @Test("a body refused on its declared length is not read: 413, Connection: close, and the server closes")
    func refusedBodyIsNotRead() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        try await Self.liveApp(services).test(.live) { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let port = client.port!
            // The head declares 3 MiB and no byte of it follows: the answer cannot wait for it.
            for (what, head) in [
                ("too large", "POST /api/v1/records/customer HTTP/1.1\r\nHost: x\r\nX-Tenant: \(t.slug)\r\nAuthorization: Bearer \(token)\r\n"),
                ("no such tenant", "POST /api/v1/records/customer HTTP/1.1\r\nHost: x\r\nX-Tenant: no-such-\(t.slug)\r\n"),
            ] {
                let answer = try await Self.raw(port: port, head + "Content-Type: application/json\r\nContent-Length: \(3 << 20)\r\n\r\n")
                #expect(answer.closedByServer, "\(what): the server kept the connection open")
                #expect(answer.text.hasPrefix(what == "too large" ? "HTTP/1.1 413" : "HTTP/1.1 404"), "\(what): \(answer.text.prefix(120))")
                #expect(answer.text.lowercased().contains("connection: close"), "\(what)")
                #expect(answer.text.contains("application/problem+json"), "\(what)")
            }
            // A small body is read and the connection stays open for the next request.
            let small = try await client.call(.post, "/api/v1/records/customer", tenant: t.slug, token: token, json: ["name": "Kept"])
            #expect(small.status == 201 && small.header("Connection") != "close")
        }
    }

    /// Sends `text` on a new connection and reads the answer until the server closes it (or 30 s
    /// pass without a byte). On a thread of its own: a blocking `recv` holds one of the two
    /// threads of Swift's pool on this machine, which the server it waits for needs too (a loaded
    /// `ops/test` run saw an empty answer after 5 s).
    static func raw(port: Int, _ text: String) async throws -> (text: String, closedByServer: Bool) {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try rawBlocking(port: port, text) }) }.start()
        }
    }

    static func rawBlocking(port: Int, _ text: String) throws -> (text: String, closedByServer: Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw CRMError.invalid("port", "unreachable", "connect failed") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var closed = false
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { closed = true }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return (String(decoding: out, as: UTF8.self), closed)
    }
}
