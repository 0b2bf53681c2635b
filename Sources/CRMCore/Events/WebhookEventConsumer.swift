import Foundation
import PostgresNIO

/// Record change events to the tenant's webhook endpoints that subscribed to them (`record.*`,
/// `record.updated`, …, optionally only some objects): one delivery per endpoint and event,
/// added in the dispatching transaction (a replayed event adds nothing).
struct WebhookEventConsumer: ChangeEventConsumer {
    var module: String? { nil }
    /// Called only where some endpoint is active.
    var consumerName: String? { "webhooks" }

    func consume(_ event: ChangeEvent, context: EventContext, in tx: Transaction) async throws {
        try await context.services.webhooks.fanout(tenantId: context.tenant.id)
            .enqueue(eventId: event.id, kind: event.kind, payloadJSON: event.payload, object: event.object, at: event.at, in: tx)
    }
}
