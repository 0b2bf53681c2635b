import Foundation
import PostgresNIO

/// An invoice as it is read back: header, totals, lines, credit notes.
public struct Invoice: Sendable, Codable, Equatable {
    public var id: UUID
    public var tenantId: UUID
    public var tenantSlug: String?
    public var subscriptionId: UUID?
    public var kind: String
    public var status: String
    public var number: String?
    public var currency: String
    public var periodStart: Date
    public var periodEnd: Date
    public var subtotalMinor: Int64
    public var taxMinor: Int64
    public var totalMinor: Int64
    public var amountPaidMinor: Int64
    public var amountCreditedMinor: Int64
    public var amountDueMinor: Int64
    public var issuedOn: String?
    public var finalizedAt: Date?
    public var paidAt: Date?
    public var voidedAt: Date?
    public var voidReason: String?
    public var billingSnapshot: String
    public var lines: [Line] = []
    public var creditNotes: [CreditNote] = []

    /// One line; `amountMinor` is signed (credits are negative).
    public struct Line: Sendable, Codable, Equatable {
        public var lineNo: Int
        public var kind: String
        public var description: String
        public var quantity: Int
        public var unitAmountMinor: Int64
        public var amountMinor: Int64
        public var serviceStart: Date?
        public var serviceEnd: Date?
        public var prorationNum: Int64?
        public var prorationDen: Int64?
    }

    /// A credit note issued against the invoice.
    public struct CreditNote: Sendable, Codable, Equatable {
        public var id: UUID
        public var number: String
        public var totalMinor: Int64
        public var reason: String
        public var createdAt: Date
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, status, number, currency, lines
        case tenantId = "tenant_id", tenantSlug = "tenant", subscriptionId = "subscription_id"
        case periodStart = "period_start", periodEnd = "period_end", subtotalMinor = "subtotal_minor", taxMinor = "tax_minor"
        case totalMinor = "total_minor", amountPaidMinor = "amount_paid_minor", amountCreditedMinor = "amount_credited_minor"
        case amountDueMinor = "amount_due_minor", issuedOn = "issued_on", finalizedAt = "finalized_at", paidAt = "paid_at"
        case voidedAt = "voided_at", voidReason = "void_reason", billingSnapshot = "billing_snapshot"
        case creditNotes = "credit_notes"
    }
}

extension Invoice.Line {
    enum CodingKeys: String, CodingKey {
        case kind, description, quantity
        case lineNo = "line_no", unitAmountMinor = "unit_amount_minor", amountMinor = "amount_minor"
        case serviceStart = "service_start", serviceEnd = "service_end", prorationNum = "proration_num"
        case prorationDen = "proration_den"
    }
}

extension Invoice.CreditNote {
    enum CodingKeys: String, CodingKey {
        case id, number, reason
        case totalMinor = "total_minor", createdAt = "created_at"
    }
}

/// Reads invoices from the platform catalog.
public struct InvoiceStore: Sendable {
    public init() {}

    static let columns = """
        i.id, i.tenant_id, t.slug, i.subscription_id, i.kind, i.status, i.number, i.currency::text, i.period_start,
        i.period_end, i.subtotal_minor, i.tax_minor, i.total_minor, i.amount_paid_minor, i.amount_credited_minor,
        i.issued_on::text, i.finalized_at, i.paid_at, i.voided_at, i.void_reason, i.billing_snapshot::text
        """

    func decode(_ rows: PostgresRowSequence) async throws -> [Invoice] {
        var out: [Invoice] = []
        for try await row in rows {
            let c = row.makeRandomAccess()
            let total = try c[12].decode(Int64.self), paid = try c[13].decode(Int64.self), credited = try c[14].decode(Int64.self)
            out.append(Invoice(id: try c[0].decode(UUID.self), tenantId: try c[1].decode(UUID.self), tenantSlug: try c[2].decode(String?.self),
                               subscriptionId: try c[3].decode(UUID?.self), kind: try c[4].decode(String.self),
                               status: try c[5].decode(String.self), number: try c[6].decode(String?.self),
                               currency: try c[7].decode(String.self), periodStart: try c[8].decode(Date.self),
                               periodEnd: try c[9].decode(Date.self), subtotalMinor: try c[10].decode(Int64.self),
                               taxMinor: try c[11].decode(Int64.self), totalMinor: total, amountPaidMinor: paid,
                               amountCreditedMinor: credited, amountDueMinor: max(0, total - paid - credited),
                               issuedOn: try c[15].decode(String?.self), finalizedAt: try c[16].decode(Date?.self),
                               paidAt: try c[17].decode(Date?.self), voidedAt: try c[18].decode(Date?.self),
                               voidReason: try c[19].decode(String?.self), billingSnapshot: try c[20].decode(String.self)))
        }
        return out
    }

    /// One invoice with its lines and credit notes; nil when unknown (or not the tenant's, with `tenantId`).
    public func find(_ id: UUID, tenantId: UUID? = nil, in tx: Transaction) async throws -> Invoice? {
        guard var invoice = try await decode(try await tx.query("""
            SELECT \(unescaped: Self.columns) FROM platform.invoices i JOIN platform.tenants t ON t.id = i.tenant_id
            WHERE i.id = \(id) AND (\(tenantId)::uuid IS NULL OR i.tenant_id = \(tenantId))
            """)).first else { return nil }
        let lines = try await tx.query("""
            SELECT line_no, kind, description, quantity, unit_amount_minor, amount_minor, service_start, service_end,
                   proration_num, proration_den
            FROM platform.invoice_lines WHERE invoice_id = \(id) ORDER BY line_no
            """)
        for try await (no, kind, text, qty, unit, amount, ss, se, num, den) in lines.decode(
            (Int32, String, String, Int32, Int64, Int64, Date?, Date?, Int64?, Int64?).self) {
            invoice.lines.append(.init(lineNo: Int(no), kind: kind, description: text, quantity: Int(qty), unitAmountMinor: unit,
                                       amountMinor: amount, serviceStart: ss, serviceEnd: se, prorationNum: num, prorationDen: den))
        }
        let notes = try await tx.query("""
            SELECT id, number, total_minor, reason, created_at FROM platform.credit_notes
            WHERE invoice_id = \(id) AND status = 'issued' ORDER BY sequence_no
            """)
        for try await (nid, number, total, reason, at) in notes.decode((UUID, String, Int64, String, Date).self) {
            invoice.creditNotes.append(.init(id: nid, number: number, totalMinor: total, reason: reason, createdAt: at))
        }
        return invoice
    }

    /// A tenant's invoices, newest first (headers only).
    public func list(tenantId: UUID, limit: Int = 200, in tx: Transaction) async throws -> [Invoice] {
        try await decode(try await tx.query("""
            SELECT \(unescaped: Self.columns) FROM platform.invoices i JOIN platform.tenants t ON t.id = i.tenant_id
            WHERE i.tenant_id = \(tenantId) ORDER BY i.created_at DESC, i.id DESC LIMIT \(limit)
            """))
    }
}
