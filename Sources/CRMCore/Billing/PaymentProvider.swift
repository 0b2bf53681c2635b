import Foundation
import PostgresNIO
import NIOConcurrencyHelpers

/// What a payment service provider answered to one charge.
public enum PaymentOutcome: String, Sendable, Codable {
    case succeeded, softDecline = "soft_decline", hardDecline = "hard_decline", error
}

/// Charges a tenant's stored payment method. `idempotencyKey` is `invoice:attempt`, so a retried
/// call never charges twice at the provider.
public protocol PaymentProvider: Sendable {
    func charge(tenantId: UUID, invoiceId: UUID, amountMinor: Int64, currency: String, idempotencyKey: String) async -> PaymentOutcome
}

/// A provider for tests and benchmarks: outcomes scripted per tenant or invoice (a queue each; the
/// last outcome repeats), `succeeded` when nothing is scripted.
public final class TestPaymentProvider: PaymentProvider {
    private let scripts = NIOLockedValueBox<[UUID: [PaymentOutcome]]>([:])
    private let calls = NIOLockedValueBox<[String]>([])

    public init() {}

    /// Outcomes for the next charges of `id` (a tenant or an invoice id).
    public func script(_ id: UUID, _ outcomes: [PaymentOutcome]) { scripts.withLockedValue { $0[id] = outcomes } }

    /// The idempotency keys charged so far.
    public var charged: [String] { calls.withLockedValue { $0 } }

    public func charge(tenantId: UUID, invoiceId: UUID, amountMinor: Int64, currency: String, idempotencyKey: String) async -> PaymentOutcome {
        calls.withLockedValue { $0.append(idempotencyKey) }
        return scripts.withLockedValue { scripts in
            for id in [invoiceId, tenantId] {
                guard var queue = scripts[id], let first = queue.first else { continue }
                if queue.count > 1 { queue.removeFirst(); scripts[id] = queue }
                return first
            }
            return .succeeded
        }
    }
}
