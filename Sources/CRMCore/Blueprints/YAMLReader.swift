import Foundation
import Yams

/// Strict reading of YAML nodes: every unknown key, wrong type or missing key is collected as a
/// problem at its node's line and column, and reading goes on so one run reports them all.
final class YAMLReader {
    let file: String
    private(set) var problems: [BlueprintProblem] = []
    /// Nodes read so far: aliases can make a small file a huge tree, so reading stops at a budget.
    private var visited = 0
    static let maxNodes = 200_000

    /// False (once reported) when the file holds more nodes than a blueprint needs.
    func visit(_ node: Node) -> Bool {
        visited += 1
        if visited == Self.maxNodes { fail(node, "The file holds more than \(Self.maxNodes) values (aliases included); a blueprint needs far fewer.") }
        return visited < Self.maxNodes
    }

    static let integerSyntax = "^-?[0-9]+$"
    static let decimalSyntax = "^-?[0-9]+(\\.[0-9]+)?$"
    /// A record value is a number only in plain decimal form; '0571' or '1_000' stay text.
    static let recordNumberSyntax = "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$"

    static func matches(_ s: String, _ pattern: String) -> Bool { s.range(of: pattern, options: .regularExpression) != nil }

    init(file: String) { self.file = file }

    func position(_ node: Node?) -> Blueprint.Position {
        guard let mark = node?.mark else { return Blueprint.Position(line: 1, column: 1) }
        return Blueprint.Position(line: mark.line, column: mark.column)
    }

    func fail(_ node: Node?, _ message: String) { problems.append(BlueprintProblem(file: file, at: position(node), message)) }
    func fail(at: Blueprint.Position, _ message: String) { problems.append(BlueprintProblem(file: file, at: at, message)) }

    /// A mapping's values by key, in file order. Unknown and repeated keys are problems; so are
    /// missing `required` keys.
    func mapping(_ node: Node, _ what: String, allowed: [String], required: [String] = []) -> Fields? {
        guard visit(node) else { return nil }
        guard case .mapping(let m) = node else {
            fail(node, "\(what) must be a mapping (key: value), not \(kind(node)).")
            return nil
        }
        var values: [String: Node] = [:], keys: [String: Node] = [:], order: [String] = []
        for (k, v) in m {
            guard let key = k.scalar?.string else { fail(k, "Keys are plain names."); continue }
            if !allowed.contains(key) {
                fail(k, "Unknown key '\(key)' in \(what); known keys: \(allowed.joined(separator: ", ")).")
                continue
            }
            if values[key] != nil { fail(k, "'\(key)' appears twice in \(what)."); continue }
            values[key] = v
            keys[key] = k
            order.append(key)
        }
        for key in required where values[key] == nil { fail(node, "\(what) needs '\(key)'.") }
        return Fields(node: node, values: values, keys: keys, order: order)
    }

    struct Fields {
        let node: Node
        let values: [String: Node]
        let keys: [String: Node]
        let order: [String]
        subscript(_ key: String) -> Node? { values[key] }
    }

    func kind(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s): return s.string.isEmpty ? "empty" : "'\(s.string.prefix(40))'"
        case .alias: return "an alias"
        }
    }

    func isNull(_ node: Node) -> Bool { node.null != nil && node.scalar?.style == .plain }

    func string(_ node: Node?, _ what: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let s) = node, !isNull(node) else {
            fail(node, "\(what) must be text, not \(kind(node)).")
            return nil
        }
        // As the services trim names and labels, so a folded block's last newline is no change.
        return s.string.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Text, or nil for an explicit null (`~` or nothing).
    func optionalString(_ node: Node?, _ what: String) -> String? {
        guard let node, !isNull(node) else { return nil }
        return string(node, what)
    }

    func int(_ node: Node?, _ what: String) -> Int? {
        guard let node else { return nil }
        guard case .scalar(let s) = node, s.style == .plain, Self.matches(s.string, Self.integerSyntax), let value = Int(s.string) else {
            fail(node, "\(what) must be a whole number in decimal digits, not \(kind(node)).")
            return nil
        }
        return value
    }

    func optionalInt(_ node: Node?, _ what: String) -> Int?? {
        guard let node else { return nil }
        if isNull(node) { return .some(nil) }
        return int(node, what).map { .some($0) }
    }

    func bool(_ node: Node?, _ what: String) -> Bool? {
        guard let node else { return nil }
        guard case .scalar(let s) = node, s.style == .plain, ["true", "false"].contains(s.string) else {
            fail(node, "\(what) must be true or false, not \(kind(node)).")
            return nil
        }
        return s.string == "true"
    }

    func decimal(_ node: Node?, _ what: String) -> Decimal? {
        guard let node else { return nil }
        guard case .scalar(let s) = node, s.style == .plain, Self.matches(s.string, Self.decimalSyntax),
              let value = Decimal(string: s.string, locale: Locale(identifier: "en_US_POSIX"))
        else {
            fail(node, "\(what) must be a number such as 12 or 0.5, not \(kind(node)).")
            return nil
        }
        return value
    }

    func sequence(_ node: Node?, _ what: String) -> [Node]? {
        guard let node, visit(node) else { return nil }
        if isNull(node) { return [] }
        guard case .sequence(let s) = node else {
            fail(node, "\(what) must be a list, not \(kind(node)).")
            return nil
        }
        return Array(s)
    }

    func strings(_ node: Node?, _ what: String) -> [String]? {
        guard let items = sequence(node, what) else { return nil }
        return items.compactMap { string($0, "Each of \(what)") }
    }

    /// A list of words, each of which must be one of `known` (reported at its own node).
    func words(_ node: Node?, _ what: String, known: [String]) -> [String]? {
        guard let items = sequence(node, what) else { return nil }
        return items.compactMap { item in
            guard let w = string(item, "Each of \(what)") else { return nil }
            guard known.contains(w) else {
                fail(item, "Unknown \(what.hasSuffix("s") ? String(what.dropLast()) : what) '\(w.prefix(40))'; one of: \(known.joined(separator: ", ")).")
                return nil
            }
            return w
        }
    }

    /// One word that must be one of `known`.
    func word(_ node: Node?, _ what: String, known: [String]) -> String? {
        guard let node, let w = string(node, what) else { return nil }
        guard known.contains(w) else {
            fail(node, "Unknown \(what) '\(w.prefix(40))'; one of: \(known.joined(separator: ", ")).")
            return nil
        }
        return w
    }

    /// A scalar or list as a record value: numbers, booleans, null and text as YAML resolves them.
    func jsonValue(_ node: Node, _ what: String) -> JSONValue? {
        guard visit(node) else { return nil }
        switch node {
        case .scalar(let s):
            if s.style != .plain { return .string(s.string) }
            if node.null != nil { return .null }
            if s.string == "true" || s.string == "false" { return .bool(s.string == "true") }
            if Self.matches(s.string, Self.recordNumberSyntax), let d = Decimal(string: s.string, locale: Locale(identifier: "en_US_POSIX")) {
                return .number(d)
            }
            return .string(s.string)
        case .sequence(let items):
            var out: [JSONValue] = []
            for item in items { if let v = jsonValue(item, what) { out.append(v) } }
            return .array(out)
        default:
            fail(node, "\(what) must be a value or a list of values, not \(kind(node)).")
            return nil
        }
    }

    /// Any value as JSON, mappings too (a module setting's value); keys are text.
    func jsonTree(_ node: Node, _ what: String) -> JSONValue? {
        switch node {
        case .mapping(let m):
            guard visit(node) else { return nil }
            var out: [String: JSONValue] = [:]
            for (k, v) in m {
                guard let key = k.scalar?.string else { fail(k, "Keys of \(what) are text."); return nil }
                guard let value = jsonTree(v, "\(what).\(key)") else { return nil }
                out[key] = value
            }
            return .object(out)
        case .sequence(let items):
            guard visit(node) else { return nil }
            var out: [JSONValue] = []
            for item in items {
                guard let value = jsonTree(item, what) else { return nil }
                out.append(value)
            }
            return .array(out)
        default:
            return jsonValue(node, what)
        }
    }

    /// A section's entry: a mapping as JSON, recording where each member stood by its path
    /// (`actions.0.values`), so a service's problem with a member points at its line.
    func entry(_ node: Node, _ what: String) -> Blueprint.Entry? {
        guard case .mapping = node else {
            fail(node, "Each of \(what) must be a mapping (key: value), not \(kind(node)).")
            return nil
        }
        var positions: [String: Blueprint.Position] = [:]
        guard case .object(let value)? = positionedTree(node, path: "", what: what, positions: &positions) else { return nil }
        return Blueprint.Entry(value, at: position(node), positions: positions)
    }

    private func positionedTree(_ node: Node, path: String, what: String, positions: inout [String: Blueprint.Position]) -> JSONValue? {
        if !path.isEmpty { positions[path] = position(node) }
        func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
        switch node {
        case .mapping(let m):
            guard visit(node) else { return nil }
            var out: [String: JSONValue] = [:]
            for (k, v) in m {
                guard let key = k.scalar?.string else { fail(k, "Keys of \(what) are text."); return nil }
                guard let value = positionedTree(v, path: sub(key), what: what, positions: &positions) else { return nil }
                out[key] = value
            }
            return .object(out)
        case .sequence(let items):
            guard visit(node) else { return nil }
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() {
                guard let value = positionedTree(item, path: sub(String(i)), what: what, positions: &positions) else { return nil }
                out.append(value)
            }
            return .array(out)
        default:
            return jsonValue(node, what)
        }
    }
}
