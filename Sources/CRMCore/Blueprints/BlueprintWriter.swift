import Foundation
import Yams

/// Writes a `Blueprint` as YAML that `BlueprintParser` reads back to the same blueprint: keys in
/// a fixed order, small mappings on one line, text quoted wherever YAML would read it as
/// something else.
public enum BlueprintWriter {
    public static let header = "# A tenant blueprint (see tenants/README.md), written by `crm tenant export-blueprint`.\n"

    public static func yaml(_ bp: Blueprint) throws -> String {
        var top: [(Node, Node)] = [("blueprint", Node(String(BlueprintParser.formatVersion)))]
        if let slug = bp.slug { top.append(("slug", text(slug))) }
        top += [("name", text(bp.name)), ("plan", text(bp.plan))]
        if let tz = bp.timeZone { top.append(("time_zone", text(tz))) }
        if let locale = bp.locale { top.append(("locale", text(locale))) }
        top.append(("modules", Node(bp.modules.map(text), .implicit, .flow)))
        if !bp.laterModules.isEmpty { top.append(("later_modules", Node(bp.laterModules.map(text), .implicit, .flow))) }
        top.append(("departments", Node(bp.departments.map { d in
            var pairs: [(Node, Node)] = [("name", text(d.name))]
            if let p = d.parent { pairs.append(("parent", text(p))) }
            if let m = d.manager { pairs.append(("manager", text(m))) }
            return Node(pairs, .implicit, .flow)
        })))
        top.append(("roles", Node(bp.roles.map { r in
            var pairs: [(Node, Node)] = [("name", text(r.name))]
            if !r.description.isEmpty { pairs.append(("description", text(r.description))) }
            pairs.append(("permissions", Node(r.permissions.map { p in
                Node([("object", text(p.object)), ("actions", Node(p.actions.map(text), .implicit, .flow)), ("scope", text(p.scope))],
                     .implicit, .flow)
            })))
            if !r.fields.isEmpty {
                pairs.append(("fields", Node(r.fields.map { f in
                    Node([("object", text(f.object)), ("field", text(f.field)), ("access", text(f.access))], .implicit, .flow)
                })))
            }
            if !r.capabilities.isEmpty { pairs.append(("capabilities", Node(r.capabilities.map(text), .implicit, .flow))) }
            return Node(pairs)
        })))
        top.append(("users", Node(bp.users.map { u in
            var pairs: [(Node, Node)] = [("email", text(u.email)), ("name", text(u.name))]
            if let d = u.department { pairs.append(("department", text(d))) }
            pairs.append(("roles", Node(u.roles.map(text), .implicit, .flow)))
            return Node(pairs, .implicit, .flow)
        })))
        var objects: [(Node, Node)] = []
        for o in bp.objects {
            var pairs: [(Node, Node)] = [("fields", Node(o.fields.map(field)))]
            if !o.layouts.isEmpty { pairs.append(("layouts", Node(o.layouts.map(layout)))) }
            objects.append((text(o.name), Node(pairs)))
        }
        top.append(("objects", Node(objects)))
        if !bp.settings.isEmpty {
            top.append(("settings", Node(bp.settings.map { section in
                (text(section.module), Node(section.values.map { (text($0.name), tree($0.value)) }))
            })))
        }
        for section in BlueprintSections.all().map(\.section) {
            guard let written = bp.sections[section.key], !written.isEmpty else { continue }
            top.append((text(section.key), Node(section.lists.compactMap { list -> (Node, Node)? in
                guard !written[list].isEmpty else { return nil }
                return (text(list), Node(written[list].map { entry($0.value) }))
            })))
        }
        let body = try Yams.serialize(node: Node(top), indent: 2, width: -1, allowUnicode: true)
        return header + body + (body.hasSuffix("\n") ? "" : "\n")
    }

    /// Text that a YAML reader would take for a number, boolean or null is quoted.
    static func text(_ s: String) -> Node {
        let plain = Node(s)
        if s.isEmpty || plain.int != nil || plain.float != nil || plain.bool != nil || plain.null != nil {
            return Node(s, Tag(.str), .singleQuoted)
        }
        return plain
    }

    static func number(_ d: Decimal) -> Node { Node(NSDecimalNumber(decimal: d).stringValue) }

    static func value(_ v: JSONValue) -> Node {
        switch v {
        case .null: return Node("null")
        case .bool(let b): return Node(b ? "true" : "false")
        case .number(let d): return number(d)
        case .string(let s): return text(s)
        case .array(let a): return Node(a.map(value), .implicit, .flow)
        case .object: return text(v.jsonText)
        }
    }

    static func field(_ f: Blueprint.Field) -> Node {
        var pairs: [(Node, Node)] = [("api_name", text(f.apiName))]
        if let l = f.label { pairs.append(("label", text(l))) }
        if let t = f.type { pairs.append(("type", text(t))) }
        if let required = f.required, required || f.type == nil { pairs.append(("required", Node(required ? "true" : "false"))) }
        // A custom field's flags are written where they differ from what a new field gets.
        if let t = f.type.flatMap(FieldType.init(rawValue:)) {
            for (key, flag, usual) in [("unique", f.unique, false), ("filterable", f.filterable, true),
                                       ("searchable", f.searchable, t.searchableByDefault)] {
                if let flag, flag != usual { pairs.append((Node(key), Node(flag ? "true" : "false"))) }
            }
        }
        if let d = f.defaultValue { pairs.append(("default", value(d))) }
        let o = f.options
        if let v = o.maxLength { pairs.append(("max_length", Node(String(v)))) }
        if let v = o.precision { pairs.append(("precision", Node(String(v)))) }
        if let v = o.scale { pairs.append(("scale", Node(String(v)))) }
        if let v = o.currencyCode { pairs.append(("currency_code", text(v))) }
        if let v = o.target { pairs.append(("target", text(v))) }
        if let v = o.pattern { pairs.append(("pattern", text(v))) }
        if let v = o.min { pairs.append(("min", number(v))) }
        if let v = o.max { pairs.append(("max", number(v))) }
        guard let values = f.values else { return Node(pairs, .implicit, .flow) }
        pairs.append(("values", Node(values.map { v in
            var p: [(Node, Node)] = [("value", text(v.value)), ("label", text(v.label))]
            if !v.active { p.append(("active", "false")) }
            return Node(p, .implicit, .flow)
        })))
        return Node(pairs)
    }

    static func layout(_ l: Blueprint.Layout) -> Node {
        var pairs: [(Node, Node)] = []
        if let r = l.role { pairs.append(("role", text(r))) }
        pairs.append(("sections", Node(l.sections.map { s -> Node in
            let items: [Node] = s.fields.map { item -> Node in
                guard item.required != nil || item.readOnly != nil else { return text(item.field) }
                var p: [(Node, Node)] = [("field", text(item.field))]
                if let r = item.required { p.append(("required", Node(r ? "true" : "false"))) }
                if let r = item.readOnly { p.append(("read_only", Node(r ? "true" : "false"))) }
                return Node(p, .implicit, .flow)
            }
            let section: [(Node, Node)] = [("label", text(s.label)), ("fields", Node(items, .implicit, .flow))]
            return Node(section)
        })))
        return Node(pairs)
    }

    /// Members an entry (or a part of one) starts with, in this order, so a reader sees what it
    /// is first; the rest follow in key order.
    static let leadingKeys = ["name", "url", "object", "description", "published", "active", "type"]

    /// A section's entry: naming members first; lists of plain values and mappings of them on
    /// one line.
    static func entry(_ members: [String: JSONValue]) -> Node {
        let rank = { (k: String) in leadingKeys.firstIndex(of: k) ?? leadingKeys.count }
        func node(_ v: JSONValue) -> Node {
            switch v {
            case .object(let o):
                let pairs = o.keys.sorted { (rank($0), $0) < (rank($1), $1) }.map { (text($0), node(o[$0]!)) }
                return o.values.allSatisfy(plain) ? Node(pairs, .implicit, .flow) : Node(pairs)
            case .array(let items):
                return items.allSatisfy(plain) ? Node(items.map(node), .implicit, .flow) : Node(items.map(node))
            default:
                return value(v)
            }
        }
        func plain(_ v: JSONValue) -> Bool {
            switch v {
            case .object: return false
            case .array(let items): return items.allSatisfy { if case .object = $0 { return false }; if case .array = $0 { return false }; return true }
            default: return true
            }
        }
        let keys = members.keys.sorted { (rank($0), $0) < (rank($1), $1) }
        return Node(keys.map { (text($0), node(members[$0]!)) })
    }

    /// A setting's value: mappings in key order, flow style when they hold only plain values.
    static func tree(_ v: JSONValue) -> Node {
        switch v {
        case .object(let members):
            let pairs = members.sorted { $0.key < $1.key }.map { (text($0.key), tree($0.value)) }
            let flat = members.values.allSatisfy { if case .object = $0 { return false }; if case .array = $0 { return false }; return true }
            return flat ? Node(pairs, .implicit, .flow) : Node(pairs)
        case .array(let items): return Node(items.map(tree))
        default: return value(v)
        }
    }
}
