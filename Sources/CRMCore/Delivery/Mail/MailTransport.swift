import Foundation
import Logging

/// Sends one message. Returning means the server took it (SMTP: 250 after DATA); throwing a
/// `MailError` says whether trying again can help.
public protocol MailTransport: Sendable {
    func send(_ message: MailMessage, logger: Logger) async throws
}

/// Why a message was not sent.
public struct MailError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A 5xx answer or a message that can never go (a bad address): recorded, not retried.
    public var permanent: Bool
    public var description: String

    public init(permanent: Bool, _ description: String) {
        self.permanent = permanent
        self.description = description
    }
}

/// The transport when no SMTP server is configured: one `notice` log line per message with
/// its kind of ids only (no address, subject or body), as notices were logged before e-mail.
public struct LogMailTransport: MailTransport {
    public init() {}

    public func send(_ message: MailMessage, logger: Logger) async throws {
        logger.info("notice", metadata: ["transport": "log", "message_id": .string(message.messageId)])
    }
}
