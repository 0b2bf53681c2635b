@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

@Suite("Billing schema: accounts at provisioning, immutable finalized invoices and plan versions")
struct BillingSchemaTests {
    @Test("a new tenant gets a billing account in its zone and a 14-day trial of its plan's current version")
    func provisioning() async throws {
        let services = try await TestEnvironment.shared.services()
        let request = Fixtures.newTenant(Fixtures.uniqueSlug(), plan: "growth", timeZone: "Europe/Berlin")
        let tenant = try await Fixtures.provision(services, request)
        #expect(try await BillingFixture.text(services, "SELECT timezone || ' ' || currency FROM platform.billing_accounts WHERE tenant_id = \(tenant.id)")
                == "Europe/Berlin USD")
        let row = try await BillingFixture.text(services, """
            SELECT s.status || ' ' || v.plan_id || ' v' || v.version || ' ' || s.quantity || ' '
                   || extract(epoch FROM s.trial_end - s.current_period_start)::int8 || ' ' || (abs(extract(epoch FROM s.current_period_start - t.created_at)) < 60)
            FROM platform.subscriptions s JOIN platform.plan_versions v ON v.id = s.plan_version_id
            JOIN platform.tenants t ON t.id = s.tenant_id WHERE s.tenant_id = \(tenant.id)
            """)
        #expect(row == "trial growth v1 1 \(14 * 86_400) true")
        let view = try await services.subscriptions.show(tenantId: tenant.id)
        #expect(view.status == "trial" && view.plan == "growth" && view.seats == 1)
    }

    /// A draft with two lines, finalized; returns its id.
    static func finalizedInvoice(_ services: AppServices, tenantId: UUID) async throws -> UUID {
        let id = UUID()
        try await services.db.platformTransaction { tx in
            try await tx.execute("""
                INSERT INTO platform.invoices (id, tenant_id, kind, currency, period_start, period_end, dedupe_key)
                VALUES (\(id), \(tenantId), 'one_off', 'USD', '2025-03-01', '2025-04-01', \("test:" + id.uuidString))
                """)
            for (no, amount) in [(1, 2_900), (2, 1_500)] {
                try await tx.execute("""
                    INSERT INTO platform.invoice_lines (id, invoice_id, line_no, kind, description, quantity, unit_amount_minor, amount_minor)
                    VALUES (\(UUID()), \(id), \(no), 'adjustment', 'line', 1, \(amount), \(amount))
                    """)
            }
            // A draft may change freely.
            try await tx.execute("UPDATE platform.invoice_lines SET amount_minor = amount_minor + 0 WHERE invoice_id = \(id)")
            try await InvoiceFinalizer.finalize(id, now: Date(), in: tx)
        }
        return id
    }

    @Test("once finalized, no UPDATE or DELETE of amounts, lines, number or period gets past the database")
    func immutability() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        var ids: [UUID] = []
        for _ in 0..<20 { ids.append(try await Self.finalizedInvoice(services, tenantId: t.tenant.id)) }
        let id = ids[0]
        #expect(try await BillingFixture.text(services, "SELECT status || ' ' || total_minor FROM platform.invoices WHERE id = \(id)") == "open 4400")
        let attacks: [PostgresQuery] = [
            "UPDATE platform.invoices SET total_minor = total_minor + 1, subtotal_minor = subtotal_minor + 1 WHERE id = ANY(\(ids))",
            "UPDATE platform.invoices SET subtotal_minor = 1, total_minor = 1 WHERE id = \(id)",
            "UPDATE platform.invoices SET number = 'INV-HACK' WHERE id = \(id)",
            "UPDATE platform.invoices SET sequence_no = sequence_no + 100000 WHERE id = \(id)",
            "UPDATE platform.invoices SET period_end = period_end + interval '1 day' WHERE id = \(id)",
            "UPDATE platform.invoices SET currency = 'EUR' WHERE id = \(id)",
            "UPDATE platform.invoices SET status = 'draft', number = NULL, sequence_no = NULL, number_scope = NULL WHERE id = \(id)",
            "UPDATE platform.invoices SET status = 'paid', amount_paid_minor = 1 WHERE id = \(id)",
            "DELETE FROM platform.invoices WHERE id = ANY(\(ids))",
            "UPDATE platform.invoice_lines SET amount_minor = 1 WHERE invoice_id = ANY(\(ids))",
            "UPDATE platform.invoice_lines SET description = 'x' WHERE invoice_id = \(id)",
            "DELETE FROM platform.invoice_lines WHERE invoice_id = ANY(\(ids))",
            """
            INSERT INTO platform.invoice_lines (id, invoice_id, line_no, kind, description, quantity, unit_amount_minor, amount_minor)
            VALUES (\(UUID()), \(id), 9, 'adjustment', 'sneaked in', 1, -4400, -4400)
            """,
        ]
        for attack in attacks { #expect(await BillingFixture.refused(services, attack), "\(attack.sql)") }
        #expect(try await BillingFixture.text(services, """
            SELECT status || ' ' || total_minor || ' ' || (SELECT sum(amount_minor) FROM platform.invoice_lines WHERE invoice_id = \(id))
            FROM platform.invoices WHERE id = \(id)
            """) == "open 4400 4400")

        // Payments only go up; void keeps the number, and a void invoice never changes again.
        #expect(!(await BillingFixture.refused(services, "UPDATE platform.invoices SET amount_paid_minor = 100 WHERE id = \(ids[1])")))
        #expect(await BillingFixture.refused(services, "UPDATE platform.invoices SET amount_paid_minor = 50 WHERE id = \(ids[1])"))
        let number = try await BillingFixture.text(services, "SELECT number FROM platform.invoices WHERE id = \(ids[2])")
        #expect(!(await BillingFixture.refused(services, "UPDATE platform.invoices SET status = 'void', voided_at = now(), void_reason = 'test' WHERE id = \(ids[2])")))
        #expect(try await BillingFixture.text(services, "SELECT number FROM platform.invoices WHERE id = \(ids[2])") == number)
        #expect(await BillingFixture.refused(services, "UPDATE platform.invoices SET status = 'open' WHERE id = \(ids[2])"))
        #expect(await BillingFixture.refused(services, "UPDATE platform.invoices SET void_reason = 'other' WHERE id = \(ids[2])"))
        #expect(try await BillingFixture.gapless(services, scope: BillingFixture.scope))
    }

    @Test("published plan versions and the subscription ledger never change")
    func planVersions() async throws {
        let services = try await TestEnvironment.shared.services()
        #expect(await BillingFixture.refused(services, "UPDATE platform.plan_versions SET seat_price_minor = 1 WHERE plan_id = 'starter'"))
        #expect(await BillingFixture.refused(services, "DELETE FROM platform.plan_versions WHERE plan_id = 'starter'"))
        let (_, sub) = try await BillingFixture.tenant(services)
        let change = UUID()
        try await services.db.platformTransaction { tx in
            try await tx.execute("""
                INSERT INTO platform.subscription_changes (id, subscription_id, kind, from_qty, to_qty, requested_at, effective_at, requested_by)
                VALUES (\(change), \(sub), 'seat_increase', 1, 2, now(), now(), 'test')
                """)
        }
        #expect(await BillingFixture.refused(services, "UPDATE platform.subscription_changes SET to_qty = 3 WHERE id = \(change)"))
        #expect(await BillingFixture.refused(services, "DELETE FROM platform.subscription_changes WHERE id = \(change)"))
        #expect(try await BillingFixture.int(services, "SELECT count(*)::int8 FROM platform.plan_versions WHERE version = 1") >= 3)
    }
}
