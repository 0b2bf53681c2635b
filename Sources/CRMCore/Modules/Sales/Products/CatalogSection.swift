import Foundation
import PostgresNIO

/// The blueprint lists `sales.products` and `sales.price_books`: products by their SKU (made and
/// changed through the records service, with history and change events, as in the API) and
/// price books by their name, with their entries naming products by SKU and the parent book by
/// name. Customer-specific books (`customer_ids`) are the tenant's own data and stay out of
/// blueprints. Pruning deletes products to the recycle bin and removes books the file leaves out.
struct CatalogSection: Sendable {
    static let productMembers: Set<String> = ["sku", "name", "unit", "list_price_minor", "currency", "cost_minor", "tax_rate", "kind",
                                              "active", "category", "description"]
    static let bookMembers: Set<String> = ["name", "currency", "parent", "priority", "is_default", "active", "valid_from", "valid_to",
                                           "customer_levels", "customer_types", "entries"]
    static let entryMembers: Set<String> = ["sku", "min_qty", "unit_price_minor", "valid_from", "valid_to"]

    func check(_ section: Blueprint.Section, in bp: Blueprint) -> [(Blueprint.Position, String)] {
        var problems: [(Blueprint.Position, String)] = []
        var skus = Set<String>()
        for (i, e) in section["products"].enumerated() {
            let label = Blueprint.Entry.label("sales", "products", i, e.text("sku"))
            for k in e.value.keys.sorted() where !Self.productMembers.contains(k) {
                problems.append((e.at(k), "\(label): unknown key '\(k.prefix(40))'; known keys: \(Self.productMembers.sorted().joined(separator: ", "))."))
            }
            guard let sku = e.text("sku"), !sku.isEmpty else { problems.append((e.at("sku"), "\(label): sku: A product needs its SKU.")); continue }
            if !skus.insert(sku).inserted { problems.append((e.at, "\(label): the SKU appears twice.")) }
        }
        var names = Set<String>()
        let books = section["price_books"]
        for (i, e) in books.enumerated() {
            let label = Blueprint.Entry.label("sales", "price_books", i, e.text("name"))
            for k in e.value.keys.sorted() where !Self.bookMembers.contains(k) {
                let hint = k == "customer_ids" ? " (books for named customers are the tenant's data, not a blueprint's)" : ""
                problems.append((e.at(k), "\(label): unknown key '\(k.prefix(40))'\(hint); known keys: \(Self.bookMembers.sorted().joined(separator: ", "))."))
            }
            guard let name = e.text("name"), !name.isEmpty else { problems.append((e.at("name"), "\(label): name: A price book needs its name.")); continue }
            if !names.insert(name).inserted { problems.append((e.at, "\(label): the name appears twice.")) }
            if let parent = e.value["parent"], parent != .null,
               !books.contains(where: { $0.text("name") == parent.stringValue }) {
                problems.append((e.at("parent"), "\(label): parent: no price book '\((parent.stringValue ?? "").prefix(80))' in this file."))
            }
            if case .array(let entries)? = e.value["entries"] {
                for (j, entry) in entries.enumerated() {
                    guard case .object(let o) = entry else { problems.append((e.at("entries.\(j)"), "\(label): entries.\(j): a mapping.")); continue }
                    for k in o.keys.sorted() where !Self.entryMembers.contains(k) {
                        problems.append((e.at("entries.\(j).\(k)"), "\(label): entries.\(j): unknown key '\(k.prefix(40))'; known keys: \(Self.entryMembers.sorted().joined(separator: ", "))."))
                    }
                    if let sku = o["sku"]?.stringValue, !skus.contains(sku) {
                        problems.append((e.at("entries.\(j).sku"), "\(label): entries.\(j).sku: no product '\(sku.prefix(80))' among products."))
                    } else if o["sku"]?.stringValue == nil {
                        problems.append((e.at("entries.\(j).sku"), "\(label): entries.\(j).sku: An entry names its product's SKU."))
                    }
                }
            } else if let v = e.value["entries"], v != .null {
                problems.append((e.at("entries"), "\(label): entries: a list."))
            }
        }
        return problems
    }

    func converge(_ section: Blueprint.Section, in run: BlueprintRun) async throws {
        let caller = try await run.caller()
        var products = try await productIds(in: run.tx)
        for (i, e) in section["products"].enumerated() {
            let sku = e.text("sku") ?? ""
            let label = Blueprint.Entry.label("sales", "products", i, sku)
            let body = e.value
            if let (id, current) = products[sku] {
                let changed = body.filter { k, v in current[k] != v && !(v == .null && current[k] == nil) }
                guard !changed.isEmpty else { continue }
                _ = try await run.at(e, label) {
                    try await run.services.records.update("product", id: id, body: changed, ifMatch: nil, origin: "blueprint", caller: caller, in: run.tx)
                }
                run.changes.append("~ product \(sku): " + changed.keys.sorted().joined(separator: ", "))
            } else {
                let made = try await run.at(e, label) {
                    try await run.services.records.create("product", body: body, origin: "blueprint", caller: caller, in: run.tx)
                }
                if case .object(let fields)? = JSONValue.parse(made.json), let id = fields["id"]?.stringValue.flatMap(UUID.init(uuidString:)) {
                    products[sku] = (id, fields)
                }
                run.changes.append("+ product \(sku)")
            }
        }
        let wantedSkus = Set(section["products"].compactMap { $0.text("sku") })
        if !section["products"].isEmpty {
            for (sku, (id, _)) in products.sorted(by: { $0.key < $1.key }) where !wantedSkus.contains(sku) {
                if run.prune {
                    try await run.at(Blueprint.Entry([:], at: section.at), "sales.products '\(sku)'") {
                        try await run.services.records.delete("product", id: id, ifMatch: nil, caller: caller, in: run.tx)
                    }
                    run.changes.append("- product \(sku)")
                } else {
                    run.notInFile.append("product \(sku)")
                }
            }
        }
        try await convergeBooks(section, products: products.mapValues(\.0), in: run)
    }

    /// Live products by SKU, with their fields as the API shows them.
    func productIds(in tx: Transaction) async throws -> [String: (UUID, [String: JSONValue])] {
        var out: [String: (UUID, [String: JSONValue])] = [:]
        for try await (id, sku, json) in try await tx.query("""
            SELECT id, sku, jsonb_build_object('sku', sku, 'name', name, 'unit', unit, 'list_price_minor', list_price_minor, 'currency', currency,
                   'cost_minor', cost_minor, 'tax_rate', tax_rate, 'kind', kind, 'active', active, 'category', category,
                   'description', description)::text
            FROM products WHERE deleted_at IS NULL
            """).decode((UUID, String, String).self) {
            if case .object(let fields)? = JSONValue.parse(json) { out[sku] = (id, fields.filter { $0.value != .null }) }
        }
        return out
    }

    func convergeBooks(_ section: Blueprint.Section, products: [String: UUID], in run: BlueprintRun) async throws {
        let store = PriceBooks()
        let now = run.services.clock.now()
        var have = Dictionary(try await store.list(in: run.tx).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        // Parents before children, so a parent named in the file exists when its child points at it.
        let entries = Self.parentsFirst(section["price_books"])
        for (i, e) in entries {
            let name = e.text("name") ?? ""
            let label = Blueprint.Entry.label("sales", "price_books", i, name)
            var body = e.value
            body.removeValue(forKey: "entries")
            if let parent = body.removeValue(forKey: "parent") {
                body["parent_id"] = parent == .null ? .null : (have[parent.stringValue ?? ""].map { .string($0.id.uuidString.lowercased()) } ?? .null)
            } else if have[name] != nil {
                body["parent_id"] = .null
            }
            let current = have[name]
            let book = try await run.at(e, label, rename: ["parent_id": "parent"]) {
                try await store.parse(body, base: current, at: now, in: run.tx)
            }
            if current == nil || !Self.same(book, current!) {
                try await store.save(book, creating: current == nil, in: run.tx)
                run.changes.append((current == nil ? "+ price book " : "~ price book ") + name)
            }
            have[name] = book
            // Entries: the file's list replaces the book's (when the file states one).
            if case .array(let items)? = e.value["entries"] {
                let resolved: [JSONValue] = items.map { item in
                    guard case .object(var o) = item else { return item }
                    if let sku = o.removeValue(forKey: "sku")?.stringValue { o["product_id"] = products[sku].map { .string($0.uuidString.lowercased()) } ?? .null }
                    return .object(o)
                }
                let before = try await store.entries(book.id, in: run.tx).map(Self.entryKey)
                try await run.at(e, label, rename: ["product_id": "sku"]) {
                    try await store.replaceEntries(book.id, resolved, at: now, in: run.tx)
                }
                let after = try await store.entries(book.id, in: run.tx).map(Self.entryKey)
                if before != after { run.changes.append("~ price book \(name): \(after.count) entries") }
            }
        }
        let wanted = Set(section["price_books"].compactMap { $0.text("name") })
        guard !section["price_books"].isEmpty else { return }
        for (name, book) in have.sorted(by: { $0.key < $1.key }) where !wanted.contains(name) && book.customerIds.isEmpty {
            if run.prune {
                try await run.tx.execute("UPDATE price_books SET parent_id = NULL WHERE parent_id = \(book.id)")
                try await run.tx.execute("DELETE FROM price_book_entries WHERE price_book_id = \(book.id)")
                try await run.tx.execute("DELETE FROM price_books WHERE id = \(book.id)")
                run.changes.append("- price book \(name)")
            } else {
                run.notInFile.append("price book \(name)")
            }
        }
    }

    static func entryKey(_ e: PriceBooks.Entry) -> String {
        "\(e.productId)|\(e.minQty)|\(e.unitPriceMinor)|\(e.validFrom ?? "")|\(e.validTo ?? "")"
    }

    static func same(_ a: PriceBooks.Book, _ b: PriceBooks.Book) -> Bool {
        a.name == b.name && a.currency == b.currency && a.parentId == b.parentId && a.priority == b.priority && a.isDefault == b.isDefault
            && a.active == b.active && a.validFrom == b.validFrom && a.validTo == b.validTo && a.customerLevels == b.customerLevels
            && a.customerTypes == b.customerTypes && a.customerIds == b.customerIds
    }

    /// The file's books with each parent before its children (a cycle keeps file order; the
    /// store refuses it then).
    static func parentsFirst(_ books: [Blueprint.Entry]) -> [(Int, Blueprint.Entry)] {
        var out: [(Int, Blueprint.Entry)] = [], placed = Set<String>()
        var left = Array(books.enumerated())
        while !left.isEmpty {
            let ready = left.filter { _, e in
                guard let p = e.value["parent"]?.stringValue else { return true }
                return placed.contains(p) || !books.contains { $0.text("name") == p }
            }
            let next = ready.isEmpty ? left : ready
            for (i, e) in next {
                out.append((i, e))
                placed.insert(e.text("name") ?? "")
            }
            let taken = Set(next.map(\.offset))
            left.removeAll { taken.contains($0.offset) }
        }
        return out
    }

    func export(in run: BlueprintRun) async throws -> [String: [Blueprint.Entry]] {
        let products = try await productIds(in: run.tx)
        let skuById = Dictionary(uniqueKeysWithValues: products.map { ($0.value.0, $0.key) })
        let books = try await PriceBooks().list(in: run.tx).filter { $0.customerIds.isEmpty }
        let nameById = Dictionary(books.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var bookEntries: [Blueprint.Entry] = []
        for b in books.sorted(by: { ($0.priority, $0.name) < ($1.priority, $1.name) }) {
            var v: [String: JSONValue] = ["name": .string(b.name), "currency": .string(b.currency), "priority": .number(Decimal(b.priority))]
            if let p = b.parentId, let name = nameById[p] { v["parent"] = .string(name) }
            if b.isDefault { v["is_default"] = .bool(true) }
            if !b.active { v["active"] = .bool(false) }
            if let d = b.validFrom { v["valid_from"] = .string(d) }
            if let d = b.validTo { v["valid_to"] = .string(d) }
            if !b.customerLevels.isEmpty { v["customer_levels"] = .array(b.customerLevels.map { .string($0) }) }
            if !b.customerTypes.isEmpty { v["customer_types"] = .array(b.customerTypes.map { .string($0) }) }
            let entries = try await PriceBooks().entries(b.id, in: run.tx).compactMap { e -> JSONValue? in
                guard let sku = skuById[e.productId] else { return nil }
                var o: [String: JSONValue] = ["sku": .string(sku), "unit_price_minor": .number(Decimal(e.unitPriceMinor))]
                if e.minQty != "0" { o["min_qty"] = .number(Decimal(string: e.minQty) ?? 0) }
                if let d = e.validFrom { o["valid_from"] = .string(d) }
                if let d = e.validTo { o["valid_to"] = .string(d) }
                return .object(o)
            }
            if !entries.isEmpty { v["entries"] = .array(entries) }
            bookEntries.append(Blueprint.Entry(v))
        }
        return ["products": products.sorted { $0.key < $1.key }.map { Blueprint.Entry($0.value.1) }, "price_books": bookEntries]
    }
}
