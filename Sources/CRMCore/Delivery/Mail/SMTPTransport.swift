import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A small SMTP client (RFC 5321) on SwiftNIO: one connection per message — EHLO (HELO when
/// refused), STARTTLS when the server offers it (or TLS from the start for `smtps`), AUTH PLAIN
/// or LOGIN when credentials are configured, MAIL FROM, RCPT TO, DATA with dot-stuffing, QUIT.
/// Every step has `stepTimeout`; a step that overruns closes the connection.
///
/// Errors: a 5xx answer to MAIL, RCPT or DATA is permanent (the message can never go); any
/// other failure — no connection, a time-out, a 4xx, a refused greeting, EHLO, STARTTLS or
/// login — is temporary, so a server that is down or misconfigured gets the message once fixed.
/// Credentials are only sent over TLS or to a loopback address.
public struct SMTPTransport: MailTransport {
    public let settings: SMTPSettings

    public init(settings: SMTPSettings) {
        self.settings = settings
    }

    public func send(_ message: MailMessage, logger: Logger) async throws {
        guard MailMessage.isSendable(message.to) else {
            throw MailError(permanent: true, "the recipient address is not one this server sends to")
        }
        guard MailMessage.isSendable(message.from) else { throw MailError(permanent: true, "the sender address is not a plain address") }
        let tls: NIOSSLContext?
        do {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            tls = try NIOSSLContext(configuration: configuration)
        } catch {
            tls = nil
        }
        let host = settings.host, implicit = settings.security == .implicitTLS
        if implicit && tls == nil { throw MailError(permanent: false, "TLS is not available on this machine") }
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(Self.timeAmount(settings.stepTimeout))
                .connect(host: host, port: settings.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if implicit, let tls {
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(host)))
                        }
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw MailError(permanent: false, "no connection to \(host):\(settings.port) (\(error))")
        }
        try await channel.executeThenClose { inbound, outbound in
            var session = SMTPSession(inbound: inbound.makeAsyncIterator(), outbound: outbound, channel: channel.channel,
                                      timeout: Self.timeAmount(settings.stepTimeout))
            try await converse(&session, message: message, tls: tls, secure: implicit)
        }
    }

    private func converse(_ s: inout SMTPSession, message: MailMessage, tls: NIOSSLContext?, secure startSecure: Bool) async throws {
        var secure = startSecure
        try await s.expect(nil, [220], step: "greeting")
        var extensions = try await hello(&s)
        if !secure, settings.security == .startTLSWhenOffered, extensions.keys.contains("STARTTLS"), let tls {
            try await s.expect("STARTTLS", [220], step: "STARTTLS")
            // In front of everything, on the channel's event loop: from here on bytes are TLS.
            let channel = s.channel, name = Self.sniName(settings.host)
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: name), position: .first)
            }.get()
            secure = true
            extensions = try await hello(&s)
        }
        if let user = settings.username, let password = settings.password {
            guard secure || Self.isLoopback(settings.host) else {
                throw MailError(permanent: false, "the server offers no STARTTLS: the password is not sent in clear text (use smtps:// or a server with STARTTLS)")
            }
            let mechanisms = Set((extensions["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
            if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
                let token = Data(([0] + Array(user.utf8) + [0] + Array(password.utf8))).base64EncodedString()
                try await s.expect("AUTH PLAIN " + token, [235], step: "AUTH")
            } else {
                try await s.expect("AUTH LOGIN", [334], step: "AUTH")
                try await s.expect(Data(user.utf8).base64EncodedString(), [334], step: "AUTH")
                try await s.expect(Data(password.utf8).base64EncodedString(), [235], step: "AUTH")
            }
        }
        try await s.expect("MAIL FROM:<\(message.from)>", [250], step: "MAIL FROM", final: true)
        try await s.expect("RCPT TO:<\(message.to)>", [250, 251], step: "RCPT TO", final: true)
        try await s.expect("DATA", [354], step: "DATA", final: true)
        try await s.expect(raw: MailMessage.dotStuffed(message.rendered()), [250], step: "end of DATA", final: true)
        // The server has the message; a failed goodbye changes nothing.
        try? await s.expect("QUIT", [221], step: "QUIT")
    }

    /// EHLO (HELO for a server that refuses it); the extensions the server lists, by keyword.
    private func hello(_ s: inout SMTPSession) async throws -> [String: String] {
        let reply = try await s.command("EHLO " + settings.heloName, step: "EHLO")
        if reply.code == 250 {
            var out: [String: String] = [:]
            for line in reply.lines.dropFirst() {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard let key = parts.first else { continue }
                out[key.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
            }
            return out
        }
        try await s.expect("HELO " + settings.heloName, [250], step: "HELO")
        return [:]
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// SNI takes a name, not an address literal.
    static func sniName(_ host: String) -> String? {
        host.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" || $0 == "[" || $0 == "]" }) ? nil : host
    }

    static func timeAmount(_ d: Duration) -> TimeAmount {
        .nanoseconds(d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
    }
}

/// One SMTP reply: its code and the text of each line.
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]
    var text: String { lines.joined(separator: " / ") }
}

/// The reading and writing side of one SMTP connection, with the time limit of each step.
struct SMTPSession {
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let channel: any Channel
    let timeout: TimeAmount
    private var buffer: [UInt8] = []
    /// The longest reply taken (a misbehaving server must not fill memory).
    static let maxReply = 64 * 1024

    init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
         channel: any Channel, timeout: TimeAmount) {
        self.inbound = inbound
        self.outbound = outbound
        self.channel = channel
        self.timeout = timeout
    }

    /// Sends `line` (nil: nothing, for the greeting) and checks the reply's code. `final` marks
    /// the steps about the message itself, where a 5xx is permanent. Errors quote the reply,
    /// never the command (which may hold credentials).
    mutating func expect(_ line: String?, _ codes: Set<Int>, step: String, final: Bool = false) async throws {
        let reply = try await exchange(line.map { $0 + "\r\n" }, step: step)
        try Self.check(reply, codes, step: step, final: final)
    }

    /// Sends `raw` as is (the DATA payload) and checks the reply.
    mutating func expect(raw: String, _ codes: Set<Int>, step: String, final: Bool) async throws {
        let reply = try await exchange(raw, step: step)
        try Self.check(reply, codes, step: step, final: final)
    }

    /// Sends a command and returns whatever the server answers.
    mutating func command(_ line: String, step: String) async throws -> SMTPReply {
        try await exchange(line + "\r\n", step: step)
    }

    static func check(_ reply: SMTPReply, _ codes: Set<Int>, step: String, final: Bool) throws {
        guard !codes.contains(reply.code) else { return }
        let text = String(reply.text.prefix(300))
        throw MailError(permanent: final && (500...599).contains(reply.code), "\(step): \(reply.code) \(text)")
    }

    /// Writes, then reads one reply, both within the step's time limit: when it runs out the
    /// connection is closed, which ends the write or read waiting on it.
    private mutating func exchange(_ text: String?, step: String) async throws -> SMTPReply {
        let timedOut = NIOLockedValueBox(false)
        let channel = self.channel
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            timedOut.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            if let text { try await outbound.write(ByteBuffer(string: text)) }
            return try await readReply(step: step)
        } catch let error as MailError {
            throw timedOut.withLockedValue { $0 } ? MailError(permanent: false, "\(step): no answer in time") : error
        } catch {
            if timedOut.withLockedValue({ $0 }) { throw MailError(permanent: false, "\(step): no answer in time") }
            throw MailError(permanent: false, "\(step): \(error)")
        }
    }

    /// Reads lines up to the last line of a reply (`250 ok` after any `250-…`).
    private mutating func readReply(step: String) async throws -> SMTPReply {
        var lines: [String] = [], code = 0
        while true {
            let line = try await readLine(step: step)
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, let c = Int(String(decoding: bytes.prefix(3), as: UTF8.self)), (200...599).contains(c) else {
                throw MailError(permanent: false, "\(step): not an SMTP reply: \(line.prefix(100))")
            }
            if lines.isEmpty { code = c } else if c != code { throw MailError(permanent: false, "\(step): mixed reply codes") }
            lines.append(bytes.count > 4 ? String(decoding: bytes.dropFirst(4), as: UTF8.self) : "")
            if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") { return SMTPReply(code: code, lines: lines) }
            guard bytes[3] == UInt8(ascii: "-") else { throw MailError(permanent: false, "\(step): not an SMTP reply: \(line.prefix(100))") }
        }
    }

    private mutating func readLine(step: String) async throws -> String {
        while true {
            if let lf = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<lf])
                buffer.removeFirst(lf + 1)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard buffer.count < Self.maxReply else { throw MailError(permanent: false, "\(step): reply too long") }
            guard var chunk = try await inbound.next() else {
                throw MailError(permanent: false, "\(step): the server closed the connection")
            }
            buffer += chunk.readBytes(length: chunk.readableBytes) ?? []
        }
    }
}
