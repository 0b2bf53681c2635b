import Foundation

/// Price books (admin) and price resolution.
enum PricingRoutes {
    static let all: [ModuleRoute] = [
        ModuleRoute(.get, "admin/price-books", capability: .manageSettings) { r in
            try .json(Page(data: try await PriceBooks().list(in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.post, "admin/price-books", capability: .manageSettings) { r in
            let book = try await PriceBooks().parse(try r.decode([String: JSONValue].self), base: nil, at: r.services.clock.now(), in: r.tx)
            try await PriceBooks().save(book, creating: true, in: r.tx)
            return try .json(book, status: 201)
        },
        ModuleRoute(.patch, "admin/price-books/:id", capability: .manageSettings) { r in
            let id = try r.id(notFound: "No such price book.")
            let current = try await PriceBooks().one(id, in: r.tx)
            let book = try await PriceBooks().parse(try r.decode([String: JSONValue].self), base: current, at: r.services.clock.now(), in: r.tx)
            try await PriceBooks().save(book, creating: false, in: r.tx)
            return try .json(book)
        },
        ModuleRoute(.get, "admin/price-books/:id/entries", capability: .manageSettings) { r in
            let id = try r.id(notFound: "No such price book.")
            _ = try await PriceBooks().one(id, in: r.tx)
            return try .json(Page(data: try await PriceBooks().entries(id, in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.put, "admin/price-books/:id/entries", capability: .manageSettings) { r in
            let id = try r.id(notFound: "No such price book.")
            _ = try await PriceBooks().one(id, in: r.tx)
            let body = try r.decode([String: JSONValue].self)
            try BodyMembers.refuseUnknown(body, allowed: ["entries"])
            guard case .array(let items)? = body["entries"] else { throw CRMError.invalid("entries", "required", "The list of entries.") }
            try await PriceBooks().replaceEntries(id, items, at: r.services.clock.now(), in: r.tx)
            return try .json(Page(data: try await PriceBooks().entries(id, in: r.tx), nextCursor: nil))
        },
        // {customer_id, date, currency?, lines: [{product_id, qty}]} → each line's unit price and its source.
        ModuleRoute(.post, "pricing/resolve") { r in
            _ = try r.caller.readable("product")
            let body = try r.decode([String: JSONValue].self)
            try BodyMembers.refuseUnknown(body, allowed: ["customer_id", "date", "currency", "lines"])
            var errors = FieldErrors()
            var customer: UUID?
            if let c = body["customer_id"], c != .null {
                customer = SalesInput.uuid(c, "customer_id", errors: &errors)
                if let id = customer { _ = try await r.services.records.get("customer", id: id, caller: r.caller, in: r.tx) }
            }
            let day = SalesInput.date(body["date"], "date", errors: &errors) ?? SalesInput.day(r.services.clock.now(), r.tenant.zone)
            var currency: String?
            if let c = body["currency"], c != .null {
                do { currency = try Currency.named(c.stringValue ?? "", field: "currency").code } catch let e as CRMError { errors.add(contentsOf: e) }
            }
            var lines: [(UUID, Decimal)] = []
            if case .array(let items)? = body["lines"], (1...500).contains(items.count) {
                for (i, item) in items.enumerated() {
                    let o = item.objectValue ?? [:]
                    let product = SalesInput.uuid(o["product_id"], "lines.\(i).product_id", errors: &errors)
                    let qty = o["qty"] == nil ? 1 : SalesInput.decimal(o["qty"], "lines.\(i).qty", scale: 4,
                                                                       range: Decimal(string: "0.0001")!...99_999_999_999_999, errors: &errors)
                    if let product, let qty { lines.append((product, qty)) }
                }
            } else {
                errors.add("lines", "invalid_type", "A list of 1 to 500 lines {product_id, qty}.")
            }
            try errors.throwIfAny()
            let prices = try await PriceResolver().resolve(customer: customer, day: day, currency: currency, lines: lines, in: r.tx)
            return try .json(Page(data: prices, nextCursor: nil))
        },
    ]
}
