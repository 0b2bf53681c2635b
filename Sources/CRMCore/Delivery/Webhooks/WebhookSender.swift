import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PostgresNIO

/// The `webhooks.deliver` job: one attempt of one delivery.
///
/// 1. Reads the delivery and its endpoint; a job whose number is not the delivery's current
///    `schedule_seq` was superseded (redeliver) and does nothing, as does one for a delivery
///    already delivered or failed, or gone with its endpoint.
/// 2. Checks the URL again (DNS can change), signs and POSTs — outside any transaction, so no
///    connection waits on the receiver.
/// 3. Records the outcome: 2xx delivered; otherwise `attempts + 1` and the next attempt after the
///    backoff as a new job (dedupe key `webhook:<id>:<seq + 1>`) in the same transaction, or
///    `failed` once the next attempt would start past the delivery's 24 hours.
///
/// A worker that dies between 2 and 3 leaves its job running; when the lease runs out the job
/// runs again and the receiver gets the same event again, with the same `CRM-Event-Id`.
struct WebhookSender: Sendable {
    let webhooks: Webhooks

    struct Target: Sendable {
        var delivery: WebhookDelivery
        var url: String
        var active: Bool
        var secret: String
        var previousSecret: String?
        var previousExpiresAt: Date?
    }

    func deliver(_ context: JobContext) async throws {
        guard case .object(let payload) = context.payload, let idText = payload["delivery_id"]?.stringValue,
              let id = UUID(uuidString: idText), case .number(let seqNumber)? = payload["seq"] else {
            throw CRMError(.invalidInput, "A webhooks.deliver job needs delivery_id and seq.")
        }
        let seq = NSDecimalNumber(decimal: seqNumber).intValue
        let target: Target? = try await context.tenantTransaction { tx in
            let rows = try await tx.query("""
                SELECT \(unescaped: WebhookDelivery.qualifiedColumns), e.url, e.active, e.secret, e.previous_secret,
                       e.previous_secret_expires_at
                FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                WHERE d.id = \(id)
                """)
            for try await row in rows {
                let cells = row.makeRandomAccess()
                return Target(delivery: try WebhookDelivery(row: row), url: try cells[14].decode(String.self),
                              active: try cells[15].decode(Bool.self), secret: try cells[16].decode(String.self),
                              previousSecret: try cells[17].decode(String?.self), previousExpiresAt: try cells[18].decode(Date?.self))
            }
            return nil
        }
        guard let target, target.delivery.status == .pending, target.delivery.scheduleSeq == seq else { return }

        let outcome: (code: Int?, error: String?)
        if target.active {
            outcome = await attempt(target)
        } else {
            outcome = (nil, "the endpoint is inactive")
        }
        let delivered = outcome.code.map { (200...299).contains($0) } ?? false
        try await context.tenantTransaction { tx -> Void in
            let now = webhooks.clock.now()
            if delivered {
                try await tx.execute("""
                    UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = \(now),
                        next_attempt_at = NULL, last_status_code = \(outcome.code.map { Int32($0) }), last_error = NULL
                    WHERE id = \(id) AND status = 'pending' AND schedule_seq = \(Int32(seq))
                    """)
                return
            }
            let attempts = target.delivery.attempts + 1
            let next = target.active
                ? webhooks.backoff.nextAttempt(afterAttempts: attempts, now: now, createdAt: target.delivery.createdAt) : nil
            let changed = try await tx.update("""
                UPDATE webhook_deliveries SET attempts = attempts + 1, last_status_code = \(outcome.code.map { Int32($0) }),
                    last_error = \(outcome.error), status = \(next == nil ? "failed" : "pending"), next_attempt_at = \(next),
                    schedule_seq = schedule_seq + \(next == nil ? Int32(0) : Int32(1))
                WHERE id = \(id) AND status = 'pending' AND schedule_seq = \(Int32(seq))
                """)
            if changed == 1, let next {
                try await webhooks.fanout(tenantId: context.job.tenantId!).enqueueJobs([(id, seq + 1)], runAt: next, in: tx)
            }
        }
        context.logger.info(delivered ? "webhook delivered" : "webhook attempt failed", metadata: [
            "delivery_id": .string(id.uuidString.lowercased()), "status_code": .string(outcome.code.map(String.init) ?? "-"),
            "error": .string(outcome.error ?? "-")])
    }

    /// One POST; the receiver's status code, or the reason there is none (short, no secrets).
    func attempt(_ target: Target) async -> (code: Int?, error: String?) {
        let url: URL
        do {
            url = try webhooks.policy.checkShape(target.url)
            try await webhooks.policy.checkAddresses(url)
        } catch let error as CRMError {
            return (nil, "refused: " + (error.fieldErrors.first?.message ?? error.detail))
        } catch {
            return (nil, "refused: the URL cannot be checked")
        }
        let now = webhooks.clock.now()
        var secrets = [target.secret]
        if let previous = target.previousSecret, let until = target.previousExpiresAt, until > now { secrets.append(previous) }
        let body = Self.body(target.delivery)
        let timestamp = Int(now.timeIntervalSince1970.rounded(.down))
        let request = WebhookRequest(url: url, headers: [
            ("Content-Type", "application/json"),
            ("User-Agent", "crm-webhooks/1"),
            ("CRM-Event-Id", target.delivery.eventId.uuidString.lowercased()),
            ("CRM-Event-Kind", target.delivery.eventKind),
            ("CRM-Delivery-Id", target.delivery.id.uuidString.lowercased()),
            ("CRM-Signature", WebhookSignature.header(body: body, timestamp: timestamp, secrets: secrets)),
        ], body: body, timeout: Webhooks.timeout)
        do {
            let code = try await webhooks.transport.send(request)
            return (code, (200...299).contains(code) ? nil : "the receiver answered \(code)")
        } catch {
            return (nil, Self.describe(error))
        }
    }

    /// `{"id","kind","created_at","data"}`, the same bytes on every attempt.
    static func body(_ delivery: WebhookDelivery) -> [UInt8] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let text = "{\"id\":\"\(delivery.eventId.uuidString.lowercased())\",\"kind\":\(JSONValue.string(delivery.eventKind).jsonText),"
            + "\"created_at\":\"\(formatter.string(from: delivery.occurredAt))\",\"data\":\(delivery.payload.jsonText)}"
        return Array(text.utf8)
    }

    /// A network failure in a few words: never the URL's query or any header.
    static func describe(_ error: Error) -> String {
        guard let error = error as? URLError else { return "the request failed" }
        switch error.code {
        case .timedOut: return "no answer within \(Int(Webhooks.timeout)) s"
        case .cannotConnectToHost: return "the connection was refused"
        case .cannotFindHost, .dnsLookupFailed: return "the host was not found"
        case .networkConnectionLost: return "the connection was lost"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid,
             .serverCertificateHasUnknownRoot, .clientCertificateRejected:
            return "the TLS handshake failed"
        case .cancelled: return "the request was cancelled"
        default: return "network error \(error.code.rawValue)"
        }
    }
}
