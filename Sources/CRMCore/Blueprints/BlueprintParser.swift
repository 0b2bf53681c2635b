import Foundation
import Yams

/// Reads a blueprint file into a `Blueprint`, strictly: unknown keys and wrong types are
/// problems with their line and column. Meaning (known modules, objects, actions, the
/// department tree) is checked afterwards by `BlueprintChecker`.
public enum BlueprintParser {
    public static let formatVersion = 1

    /// Larger files are refused before reading (a blueprint is configuration, not data).
    public static let maxBytes = 2 << 20

    public static func parse(_ text: String, file: String) throws -> Blueprint {
        let r = YAMLReader(file: file)
        if text.utf8.count > maxBytes {
            throw BlueprintProblems([BlueprintProblem(file: file, at: .init(line: 1, column: 1), "The file is over \(maxBytes >> 20) MB.")])
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw BlueprintProblems([BlueprintProblem(file: file, at: .init(line: 1, column: 1), "The file is empty.")])
            }
            root = node
        } catch let error as YamlError {
            throw BlueprintProblems([syntaxProblem(error, file: file)])
        }
        let sections = BlueprintSections.all().map(\.section)
        let top = r.mapping(root, "the blueprint", allowed: [
            "blueprint", "slug", "name", "plan", "time_zone", "locale", "modules", "later_modules", "departments", "roles", "users",
            "objects", "settings",
        ] + sections.map(\.key) + ["sample_records"], required: ["blueprint", "name", "plan"])
        guard let top else { throw BlueprintProblems(r.problems) }
        if let v = r.int(top["blueprint"], "blueprint (the format version)"), v != formatVersion {
            r.fail(top["blueprint"], "This is format version \(v); this crm reads version \(formatVersion).")
        }
        var bp = Blueprint(name: r.string(top["name"], "name") ?? "", plan: r.string(top["plan"], "plan") ?? "",
                           timeZone: r.optionalString(top["time_zone"], "time_zone"), locale: r.optionalString(top["locale"], "locale"))
        bp.slug = r.optionalString(top["slug"], "slug")
        for (key, node) in top.values { bp.positions[key] = r.position(node) }
        bp.modules = r.words(top["modules"], "modules", known: ModuleRegistry.standard.modules.map(\.id)) ?? []
        bp.laterModules = r.words(top["later_modules"], "later_modules", known: Blueprint.roadmapModules) ?? []
        bp.departments = (r.sequence(top["departments"], "departments") ?? []).compactMap { department($0, r) }
        bp.roles = (r.sequence(top["roles"], "roles") ?? []).compactMap { role($0, r) }
        bp.users = (r.sequence(top["users"], "users") ?? []).compactMap { user($0, r) }
        if let objects = top["objects"], let m = r.mapping(objects, "objects", allowed: Array(AccessObjects.standard).sorted()) {
            for name in m.order { if let o = object(name, m[name]!, r) { bp.objects.append(o) } }
        }
        let withSettings = ModuleRegistry.standard.modules.filter { !$0.settings.isEmpty }
        if let settings = top["settings"], let s = r.mapping(settings, "settings", allowed: withSettings.map(\.id)) {
            for module in withSettings {
                guard let node = s[module.id],
                      let m = r.mapping(node, "settings.\(module.id)", allowed: module.settings.map(\.name)) else { continue }
                var section = Blueprint.SettingsSection(module: module.id, values: [], at: r.position(node))
                for name in m.order {
                    guard let valueNode = m[name], let value = r.jsonTree(valueNode, name) else { continue }
                    section.values.append(.init(name: name, value: value, at: r.position(valueNode)))
                }
                bp.settings.append(section)
            }
        }
        for section in sections {
            guard let node = top[section.key], let m = r.mapping(node, section.key, allowed: section.lists) else { continue }
            var read = Blueprint.Section(key: section.key, at: r.position(node))
            for list in m.order {
                read.lists[list] = (r.sequence(m[list], "\(section.key).\(list)") ?? []).compactMap { r.entry($0, "\(section.key).\(list)") }
            }
            bp.sections[section.key] = read
        }
        if let samples = top["sample_records"],
           let m = r.mapping(samples, "sample_records", allowed: Array(AccessObjects.standard).sorted())
        {
            for name in m.order {
                for item in r.sequence(m[name], "sample_records.\(name)") ?? [] {
                    if let rec = sampleRecord(name, item, r) { bp.sampleRecords.append(rec) }
                }
            }
        }
        if !r.problems.isEmpty { throw BlueprintProblems(r.problems) }
        return bp
    }

    static func syntaxProblem(_ error: YamlError, file: String) -> BlueprintProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return BlueprintProblem(file: file, at: .init(line: mark.line, column: mark.column), "YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return BlueprintProblem(file: file, at: .init(line: context.mark.line, column: context.mark.column),
                                    "YAML: keys appear twice: \(duplicates.joined(separator: ", "))")
        default:
            return BlueprintProblem(file: file, at: .init(line: 1, column: 1), "YAML: \(error)")
        }
    }

    static func department(_ node: Node, _ r: YAMLReader) -> Blueprint.Department? {
        guard let m = r.mapping(node, "a department", allowed: ["name", "parent", "manager"], required: ["name"]) else { return nil }
        return Blueprint.Department(name: r.string(m["name"], "name") ?? "", parent: r.optionalString(m["parent"], "parent"),
                                    manager: r.optionalString(m["manager"], "manager"), at: r.position(node))
    }

    static func role(_ node: Node, _ r: YAMLReader) -> Blueprint.Role? {
        guard let m = r.mapping(node, "a role", allowed: ["name", "description", "permissions", "fields", "capabilities"],
                                required: ["name"]) else { return nil }
        var role = Blueprint.Role(name: r.string(m["name"], "name") ?? "", description: r.optionalString(m["description"], "description") ?? "",
                                  permissions: [], fields: [],
                                  capabilities: r.words(m["capabilities"], "capabilities", known: Capability.allCases.map(\.rawValue)) ?? [],
                                  at: r.position(node))
        for p in r.sequence(m["permissions"], "permissions") ?? [] {
            guard let pm = r.mapping(p, "a permission", allowed: ["object", "actions", "scope"], required: ["object", "actions", "scope"])
            else { continue }
            role.permissions.append(.init(object: r.word(pm["object"], "object", known: objectWords) ?? "",
                                          actions: r.words(pm["actions"], "actions", known: Action.allCases.map(\.rawValue)) ?? [],
                                          scope: r.word(pm["scope"], "scope", known: RecordScope.allCases.map(\.rawValue)) ?? ""))
        }
        for f in r.sequence(m["fields"], "fields") ?? [] {
            guard let fm = r.mapping(f, "a field grant", allowed: ["object", "field", "access"], required: ["object", "field", "access"])
            else { continue }
            role.fields.append(.init(object: r.word(fm["object"], "object", known: Array(AccessObjects.standard).sorted()) ?? "",
                                     field: r.string(fm["field"], "field") ?? "",
                                     access: r.word(fm["access"], "access", known: FieldAccess.allCases.map(\.rawValue)) ?? ""))
        }
        return role
    }

    static let objectWords = [AccessObjects.wildcard] + Array(AccessObjects.standard).sorted()

    static func user(_ node: Node, _ r: YAMLReader) -> Blueprint.User? {
        guard let m = r.mapping(node, "a user", allowed: ["email", "name", "department", "roles"], required: ["email", "name"])
        else { return nil }
        return Blueprint.User(email: r.string(m["email"], "email") ?? "", name: r.string(m["name"], "name") ?? "",
                              department: r.optionalString(m["department"], "department"), roles: r.strings(m["roles"], "roles") ?? [],
                              at: r.position(node))
    }

    static func object(_ name: String, _ node: Node, _ r: YAMLReader) -> Blueprint.ObjectConfig? {
        guard let m = r.mapping(node, "objects.\(name)", allowed: ["fields", "layouts"]) else { return nil }
        var o = Blueprint.ObjectConfig(name: name, fields: [], layouts: [], at: r.position(m.keys.isEmpty ? node : node))
        o.fields = (r.sequence(m["fields"], "objects.\(name).fields") ?? []).compactMap { field($0, r) }
        for l in r.sequence(m["layouts"], "objects.\(name).layouts") ?? [] {
            guard let lm = r.mapping(l, "a layout", allowed: ["role", "sections"], required: ["sections"]) else { continue }
            var layout = Blueprint.Layout(role: r.optionalString(lm["role"], "role"), sections: [], at: r.position(l))
            for s in r.sequence(lm["sections"], "sections") ?? [] {
                guard let sm = r.mapping(s, "a section", allowed: ["label", "fields"], required: ["label", "fields"]) else { continue }
                var section = LayoutService.Section(label: r.string(sm["label"], "label") ?? "", fields: [])
                for item in r.sequence(sm["fields"], "fields") ?? [] {
                    if case .scalar = item {
                        if let f = r.string(item, "a layout field") { section.fields.append(.init(field: f)) }
                    } else if let im = r.mapping(item, "a layout field", allowed: ["field", "required", "read_only"], required: ["field"]) {
                        section.fields.append(.init(field: r.string(im["field"], "field") ?? "", required: r.bool(im["required"], "required"),
                                                    readOnly: r.bool(im["read_only"], "read_only")))
                    }
                }
                layout.sections.append(section)
            }
            o.layouts.append(layout)
        }
        return o
    }

    static func field(_ node: Node, _ r: YAMLReader) -> Blueprint.Field? {
        guard let m = r.mapping(node, "a field", allowed: [
            "api_name", "label", "type", "required", "unique", "filterable", "searchable", "default", "values", "max_length",
            "precision", "scale", "currency_code", "target", "pattern", "min", "max",
        ], required: ["api_name"]) else { return nil }
        var f = Blueprint.Field(apiName: r.string(m["api_name"], "api_name") ?? "", label: r.optionalString(m["label"], "label"),
                                type: r.word(m["type"], "type", known: FieldType.custom.map(\.rawValue)), required: r.bool(m["required"], "required"),
                                unique: r.bool(m["unique"], "unique"), filterable: r.bool(m["filterable"], "filterable"),
                                searchable: r.bool(m["searchable"], "searchable"), defaultValue: nil, options: FieldOptions(),
                                values: nil, at: r.position(node))
        if let d = m["default"] { f.defaultValue = r.jsonValue(d, "default") }
        f.options.maxLength = r.int(m["max_length"], "max_length")
        f.options.precision = r.int(m["precision"], "precision")
        f.options.scale = r.int(m["scale"], "scale")
        f.options.currencyCode = r.optionalString(m["currency_code"], "currency_code")
        f.options.target = r.optionalString(m["target"], "target")
        f.options.pattern = r.optionalString(m["pattern"], "pattern")
        f.options.min = r.decimal(m["min"], "min")
        f.options.max = r.decimal(m["max"], "max")
        if let values = m["values"] {
            f.values = (r.sequence(values, "values") ?? []).compactMap { v in
                if case .scalar = v { return r.string(v, "a picklist value").map { PicklistValue(value: $0, label: $0) } }
                guard let vm = r.mapping(v, "a picklist value", allowed: ["value", "label", "active"], required: ["value"]) else { return nil }
                let value = r.string(vm["value"], "value") ?? ""
                return PicklistValue(value: value, label: r.optionalString(vm["label"], "label") ?? value,
                                     active: r.bool(vm["active"], "active") ?? true)
            }
        }
        return f
    }

    static func sampleRecord(_ object: String, _ node: Node, _ r: YAMLReader) -> Blueprint.SampleRecord? {
        guard case .mapping(let m) = node else {
            r.fail(node, "A sample record is a mapping of field: value, not \(r.kind(node)).")
            return nil
        }
        var rec = Blueprint.SampleRecord(object: object, values: [:], refs: [:], at: r.position(node))
        for (k, v) in m {
            guard let key = k.scalar?.string else { r.fail(k, "Keys are field names."); continue }
            switch key {
            case "ref": rec.ref = r.string(v, "ref")
            case "owner": rec.owner = r.string(v, "owner")
            default:
                if case .mapping = v {
                    if let vm = r.mapping(v, "a reference", allowed: ["ref"], required: ["ref"]), let ref = r.string(vm["ref"], "ref") {
                        rec.refs[key] = ref
                    }
                } else if let value = r.jsonValue(v, key) {
                    rec.values[key] = value
                }
            }
        }
        return rec
    }
}
