import Foundation
import NIOConcurrencyHelpers

/// The pattern of a custom text field, compiled for a linear-time matcher.
///
/// Why not ICU (`String.range(of:options: .regularExpression)`): it backtracks, so a pattern
/// such as `a*a*a*a*a*a*a*a*a*a*a*a*b` cost 0.55–0.78 s per value of 255 `a`s on a thread of
/// the shared pool. Here a pattern compiles to a small program run as a Thompson NFA (a Pike VM
/// without captures): every input character advances each program state at most once, so a
/// value costs at most `states × (characters + 1)` steps, whatever the pattern.
///
/// The grammar (a value must match the whole pattern, as if it were `^(?:pattern)$`):
/// - literals; any ASCII punctuation escaped with `\` stands for itself (`\.`, `\(`, `\\`, `\{` …);
///   `\t`, `\n`, `\r`; `\uhhhh` and `\x{h…}` (a code point in hex)
/// - `.`: any character but a line break
/// - classes `[…]` and `[^…]`: characters, ranges `a-z`, `\d \w \s \D \W \S` and escapes;
///   `-` is literal first or last; no nested classes, `[:posix:]` names or `&&`
/// - `\d` (a decimal digit), `\w` (a letter, mark, digit or connector such as `_`), `\s` (white
///   space), in the Unicode sense like ICU, and their negations `\D \W \S`
/// - groups `(…)` and `(?:…)` (no captures are kept), alternation `|`
/// - quantifiers `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` (n ≤ m ≤ 1000); a lazy quantifier (`*?`)
///   matches the same whole values as the greedy one and is accepted as such
/// - `^` at the start and `$` at the end of the pattern or of one of its top-level alternatives
///   (no-ops: the whole value must match anyway)
///
/// Refused, with a message naming the construct: back-references, look-ahead and look-behind,
/// named and atomic groups, inline flags, possessive quantifiers, `\b \B \A \z \Z \G \p \Q \k`
/// and other letter escapes, and programs of more than `maxStates` states once repetitions are
/// expanded. Matching is by `Character` (what `max_length` counts): `.` and each class item take
/// one character, literals compare characters by canonical equivalence (`é` precomposed or not),
/// ranges compare the character's single code point (after NFC), and `\d \w \s` look at its
/// first code point.
public struct FieldPattern: Sendable {
    /// Most program states once repetitions are expanded: with values of at most 255
    /// characters, one value costs at most about half a million steps.
    public static let maxStates = 2_000
    /// The largest bound a quantifier may give.
    public static let maxRepeat = 1_000
    /// Hard bound on `states × (characters + 1)` for one value; longer values are not checked
    /// (`matches` answers nil) rather than costing more.
    public static let maxSteps = maxStates * 1_001

    /// A pattern outside the grammar, with what is wrong in words an admin can act on.
    public struct Unsupported: Error, Equatable, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    let program: [Instruction]
    let sets: [CharSet]

    /// The states of the compiled program (the work per character is at most this).
    public var stateCount: Int { program.count }

    /// Compiles `pattern`, or says why it is outside the grammar.
    public static func compile(_ pattern: String) -> Result<FieldPattern, Unsupported> {
        do {
            var parser = Parser(Array(pattern))
            let tree = try parser.parseWhole()
            guard tree.size <= maxStates else {
                throw Unsupported(reason: "The pattern expands to more than \(maxStates) states; use smaller repetition counts.")
            }
            var emitter = Emitter()
            emitter.emit(tree)
            emitter.program.append(.match)
            return .success(FieldPattern(program: emitter.program, sets: parser.sets))
        } catch let error as Unsupported {
            return .failure(error)
        } catch {
            return .failure(Unsupported(reason: "The pattern cannot be read."))
        }
    }

    /// Whether all of `value` matches; nil when the value is too long for the step bound.
    public func matches(_ value: String) -> Bool? {
        let units = value.map(Unit.init)
        guard program.count * (units.count + 1) <= Self.maxSteps else { return nil }
        var current = StateList(capacity: program.count), next = StateList(capacity: program.count)
        var stack: [Int] = []
        add(0, to: &current, stack: &stack)
        for unit in units {
            if current.states.isEmpty { return false }
            next.clear()
            for pc in current.states {
                let advances: Bool
                switch program[pc] {
                case .scalar(let s): advances = unit.scalar == s
                case .character(let c): advances = unit.character == c
                case .any: advances = !unit.isLineBreak
                case .set(let i): advances = sets[i].contains(unit)
                case .split, .jump, .match: advances = false
                }
                if advances { add(pc + 1, to: &next, stack: &stack) }
            }
            swap(&current, &next)
        }
        return current.states.contains { if case .match = program[$0] { return true } else { return false } }
    }

    /// Adds `pc` and every state reachable from it without input (splits and jumps are followed,
    /// not kept), each once per input position.
    private func add(_ pc: Int, to list: inout StateList, stack: inout [Int]) {
        stack.append(pc)
        while let pc = stack.popLast() {
            guard list.insert(pc) else { continue }
            switch program[pc] {
            case .jump(let to): stack.append(to)
            case .split(let a, let b): stack.append(b); stack.append(a)
            default: list.states.append(pc)
            }
        }
    }

    // MARK: the compiled cache

    /// Compiled patterns by text, successes and refusals alike: every record write of a field
    /// with a pattern needs it, and the metadata holds only the text. Bounded: the oldest entry
    /// goes first.
    private static let cache = NIOLockedValueBox(Cache())
    static let cacheLimit = 512

    struct Cache {
        var entries: [String: Result<FieldPattern, Unsupported>] = [:]
        var order: [String] = []
        var head = 0
    }

    /// `compile(pattern)`, from the cache when it was compiled before.
    public static func compiled(_ pattern: String) -> Result<FieldPattern, Unsupported> {
        if let hit = cache.withLockedValue({ $0.entries[pattern] }) { return hit }
        let result = compile(pattern)
        cache.withLockedValue { cache in
            guard cache.entries[pattern] == nil else { return }
            if cache.entries.count >= cacheLimit {
                cache.entries[cache.order[cache.head]] = nil
                cache.order[cache.head] = pattern
                cache.head = (cache.head + 1) % cacheLimit
            } else {
                cache.order.append(pattern)
            }
            cache.entries[pattern] = result
        }
        return result
    }

    static var cacheCount: Int { cache.withLockedValue { $0.entries.count } }
}

// MARK: program

extension FieldPattern {
    enum Instruction: Sendable {
        /// One character whose NFC form is this single code point.
        case scalar(UInt32)
        /// One character of several code points, compared by canonical equivalence.
        case character(Character)
        case any
        case set(Int)
        case split(Int, Int)
        case jump(Int)
        case match
    }

    /// One character of the value, with what the instructions compare.
    struct Unit {
        let character: Character
        /// The character's code point when its NFC form is a single one.
        let scalar: UInt32?
        /// Its first code point (the base character), for `\d \w \s`.
        let base: Unicode.Scalar

        init(_ c: Character) {
            character = c
            base = c.unicodeScalars.first!
            scalar = Parser.singleScalar(c)
        }

        var isLineBreak: Bool {
            switch base.value {
            case 0x0A...0x0D, 0x85, 0x2028, 0x2029: return true
            default: return false
            }
        }
    }

    /// A class `[…]`, or one of `\d \w \s` and their negations.
    struct CharSet: Sendable {
        enum Item: Sendable {
            case range(UInt32, UInt32)
            case builtin(Builtin, negated: Bool)
        }
        var negated: Bool
        var items: [Item]

        func contains(_ unit: Unit) -> Bool {
            var found = false
            for item in items {
                switch item {
                case .range(let low, let high): if let s = unit.scalar, s >= low && s <= high { found = true }
                case .builtin(let b, let negated): if b.contains(unit.base) != negated { found = true }
                }
                if found { break }
            }
            return found != negated
        }
    }

    enum Builtin: Sendable {
        case digit, word, space

        func contains(_ s: Unicode.Scalar) -> Bool {
            let p = s.properties
            switch self {
            case .digit: return p.generalCategory == .decimalNumber
            case .word:
                // ICU's \w: alphabetic, marks, decimal digits, connector punctuation, ZWNJ and ZWJ.
                switch p.generalCategory {
                case .decimalNumber, .connectorPunctuation, .nonspacingMark, .spacingMark, .enclosingMark: return true
                default: return p.isAlphabetic || s.value == 0x200C || s.value == 0x200D
                }
            case .space: return p.isWhitespace
            }
        }
    }

    /// Program states not yet advanced at one input position: a sparse set (O(1) insert and
    /// clear) plus the consuming states in the order they were reached.
    struct StateList {
        var seen: [Int]
        var generation = 1
        var states: [Int] = []

        init(capacity: Int) {
            seen = Array(repeating: 0, count: capacity)
            states.reserveCapacity(capacity)
        }

        mutating func insert(_ pc: Int) -> Bool {
            if seen[pc] == generation { return false }
            seen[pc] = generation
            return true
        }

        mutating func clear() {
            generation += 1
            states.removeAll(keepingCapacity: true)
        }
    }
}

// MARK: syntax

extension FieldPattern {
    indirect enum Node {
        case empty
        case scalar(UInt32)
        case character(Character)
        case any
        case set(Int)
        case concat([Node])
        case alternation([Node])
        case repetition(Node, min: Int, max: Int?)

        /// The states this node emits (saturating, so a huge repetition is refused, not built).
        var size: Int {
            func add(_ a: Int, _ b: Int) -> Int { a > Int.max / 4 || b > Int.max / 4 ? Int.max / 4 : a + b }
            func mul(_ a: Int, _ b: Int) -> Int { a == 0 || b == 0 ? 0 : (a > (Int.max / 4) / b ? Int.max / 4 : a * b) }
            switch self {
            case .empty: return 0
            case .scalar, .character, .any, .set: return 1
            case .concat(let parts): return parts.reduce(0) { add($0, $1.size) }
            case .alternation(let branches): return add(branches.reduce(0) { add($0, $1.size) }, 2 * (branches.count - 1))
            case .repetition(let node, let min, let max):
                let one = node.size
                guard let max else { return add(mul(min, one), add(one, 2)) }
                return add(mul(min, one), mul(max - min, add(one, 1)))
            }
        }
    }

    /// Recursive descent over the pattern's characters.
    struct Parser {
        let chars: [Character]
        var i = 0
        var depth = 0
        var sets: [CharSet] = []

        init(_ chars: [Character]) { self.chars = chars }

        func fail(_ reason: String) -> Unsupported { Unsupported(reason: reason) }
        var peek: Character? { i < chars.count ? chars[i] : nil }

        mutating func parseWhole() throws -> Node {
            let node = try parseAlternation()
            if i < chars.count { throw fail("Unbalanced ')' at position \(i + 1).") }
            return node
        }

        mutating func parseAlternation() throws -> Node {
            var branches = [try parseConcat()]
            while peek == "|" {
                i += 1
                branches.append(try parseConcat())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        mutating func parseConcat() throws -> Node {
            var parts: [Node] = []
            let start = i
            while let c = peek, c != "|", c != ")" {
                if c == "^" {
                    guard depth == 0, i == start else { throw fail("'^' is only allowed at the start of the pattern (a value must match whole anyway).") }
                    i += 1
                    continue
                }
                if c == "$" {
                    i += 1
                    guard depth == 0, peek == nil || peek == "|" else {
                        throw fail("'$' is only allowed at the end of the pattern (a value must match whole anyway).")
                    }
                    continue
                }
                parts.append(try parseQuantified())
            }
            return parts.isEmpty ? .empty : parts.count == 1 ? parts[0] : .concat(parts)
        }

        mutating func parseQuantified() throws -> Node {
            var node = try parseAtom()
            guard let q = peek, q == "*" || q == "+" || q == "?" || q == "{" else { return node }
            let (min, max) = try parseQuantifier()
            node = .repetition(node, min: min, max: max)
            if peek == "?" { i += 1 } // lazy: the same whole-value matches
            else if peek == "+" { throw fail("Possessive quantifiers ('\(q)+') are not supported.") }
            if let next = peek, next == "*" || next == "+" || next == "?" || next == "{" {
                throw fail("Two quantifiers in a row at position \(i + 1); put the first part in a group: (…){n}.")
            }
            return node
        }

        mutating func parseQuantifier() throws -> (Int, Int?) {
            let c = chars[i]
            i += 1
            switch c {
            case "*": return (0, nil)
            case "+": return (1, nil)
            case "?": return (0, 1)
            default:
                let start = i - 1
                let min = readNumber()
                guard let min else { throw fail("'{' at position \(start + 1) starts no repetition count; write \\{ for the character.") }
                var max: Int? = min
                if peek == "," {
                    i += 1
                    max = peek == "}" ? nil : readNumber()
                    if max == nil && peek != "}" { throw fail("A repetition count is {n}, {n,} or {n,m}.") }
                }
                guard peek == "}" else { throw fail("A repetition count is {n}, {n,} or {n,m}.") }
                i += 1
                if min > FieldPattern.maxRepeat || (max ?? 0) > FieldPattern.maxRepeat {
                    throw fail("Repetition counts go up to \(FieldPattern.maxRepeat).")
                }
                if let max, max < min { throw fail("In {n,m}, m is less than n.") }
                return (min, max)
            }
        }

        mutating func readNumber() -> Int? {
            var n = 0, digits = 0
            while let c = peek, let d = c.wholeNumberValue, c.isASCII {
                n = Swift.min(n * 10 + d, 1_000_000)
                digits += 1
                i += 1
            }
            return digits == 0 ? nil : n
        }

        mutating func parseAtom() throws -> Node {
            let c = chars[i]
            switch c {
            case "(":
                i += 1
                if peek == "?" {
                    i += 1
                    guard peek == ":" else { throw fail(describeGroup()) }
                    i += 1
                }
                depth += 1
                guard depth <= 50 else { throw fail("Groups nest at most 50 deep.") }
                let inner = try parseAlternation()
                guard peek == ")" else { throw fail("A '(' is not closed.") }
                i += 1
                depth -= 1
                return inner
            case "[":
                i += 1
                return .set(try parseClass())
            case ".":
                i += 1
                return .any
            case "\\":
                i += 1
                return try parseEscape()
            case "*", "+", "?":
                throw fail("'\(c)' at position \(i + 1) has nothing to repeat; write \\\(c) for the character.")
            case "{":
                throw fail("'{' at position \(i + 1) has nothing to repeat; write \\{ for the character.")
            default:
                if c.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                    throw fail("Control characters are not allowed; write \\t, \\n or \\r.")
                }
                i += 1
                return literal(c)
            }
        }

        /// What a `(?…` that is not `(?:` is, for the refusal.
        func describeGroup() -> String {
            let rest = String(chars[i...].prefix(2))
            if rest.hasPrefix("=") || rest.hasPrefix("!") { return "Look-ahead groups (?= and (?! are not supported." }
            if rest.hasPrefix("<=") || rest.hasPrefix("<!") { return "Look-behind groups (?<= and (?<! are not supported." }
            if rest.hasPrefix("<") { return "Named groups (?<name>…) are not supported; use (…)." }
            if rest.hasPrefix(">") { return "Atomic groups (?>…) are not supported." }
            if rest.hasPrefix("#") { return "Comments (?#…) are not supported." }
            return "Inline flags and other (?… groups are not supported; only (…) and (?:…)."
        }

        func literal(_ c: Character) -> Node {
            if let s = Self.singleScalar(c) { return .scalar(s) }
            return .character(c)
        }

        /// The character's code point after NFC, when that is a single one. Below U+0300 every
        /// code point is its own NFC form, so the common case skips normalizing.
        static func singleScalar(_ c: Character) -> UInt32? {
            let scalars = c.unicodeScalars
            if scalars.count == 1, scalars.first!.value < 0x300 { return scalars.first!.value }
            let composed = String(c).precomposedStringWithCanonicalMapping.unicodeScalars
            return composed.count == 1 ? composed.first!.value : nil
        }

        mutating func addSet(_ set: CharSet) -> Int {
            sets.append(set)
            return sets.count - 1
        }

        /// After a backslash: a class shorthand, a code point, or an escaped character.
        mutating func parseEscape() throws -> Node {
            guard let c = peek else { throw fail("The pattern ends with a lone '\\'.") }
            i += 1
            switch c {
            case "d", "D", "w", "W", "s", "S":
                let builtin: Builtin = c == "d" || c == "D" ? .digit : c == "w" || c == "W" ? .word : .space
                return .set(addSet(CharSet(negated: false, items: [.builtin(builtin, negated: c.isUppercase)])))
            case "t": return .scalar(0x09)
            case "n": return .scalar(0x0A)
            case "r": return .scalar(0x0D)
            case "u":
                guard i + 4 <= chars.count, let v = UInt32(String(chars[i..<i + 4]), radix: 16) else {
                    throw fail("\\u takes four hex digits, as in \\u4e00.")
                }
                i += 4
                return try codePoint(v)
            case "x":
                guard peek == "{", let close = chars[i...].firstIndex(of: "}"), close - i - 1 >= 1, close - i - 1 <= 6,
                      let v = UInt32(String(chars[(i + 1)..<close]), radix: 16) else {
                    throw fail("\\x takes hex digits in braces, as in \\x{4e00}.")
                }
                i = close + 1
                return try codePoint(v)
            case "1"..."9": throw fail("Back-references (\\\(c)) are not supported.")
            case "b", "B": throw fail("Word boundaries (\\\(c)) are not supported.")
            case "A", "z", "Z", "G": throw fail("Anchors such as \\\(c) are not supported; the whole value must match anyway.")
            case "k": throw fail("Named back-references (\\k) are not supported.")
            case "p", "P": throw fail("Unicode property classes (\\\(c){…}) are not supported; use ranges such as [\\u4e00-\\u9fff].")
            case "Q", "E": throw fail("Quoting with \\Q…\\E is not supported; escape each character.")
            default:
                if c.isASCII && (c.isLetter || c.isNumber) { throw fail("The escape \\\(c) is not supported.") }
                if c.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                    throw fail("Control characters are not allowed; write \\t, \\n or \\r.")
                }
                return literal(c)
            }
        }

        func codePoint(_ v: UInt32) throws -> Node {
            guard let s = Unicode.Scalar(v) else { throw fail("\\u or \\x names no character (\(String(v, radix: 16))).") }
            return .scalar(s.value)
        }

        /// After `[`: items up to the closing `]`.
        mutating func parseClass() throws -> Int {
            var negated = false
            if peek == "^" { negated = true; i += 1 }
            var items: [CharSet.Item] = []
            var count = 0
            while true {
                guard let c = peek else { throw fail("A '[' is not closed.") }
                if c == "]" {
                    i += 1
                    break
                }
                if c == "[" { throw fail("Nested classes and [:name:] classes are not supported; write \\[ for the character.") }
                if c == "&" && i + 1 < chars.count && chars[i + 1] == "&" { throw fail("Class intersection (&&) is not supported.") }
                count += 1
                guard count <= 500 else { throw fail("A class has at most 500 items.") }
                let low = try classItem()
                // `-` between two characters makes a range; first or last it is itself.
                if peek == "-", i + 1 < chars.count, chars[i + 1] != "]" {
                    guard case .scalar(let a) = low else { throw fail("A range in [...] goes between two characters.") }
                    i += 1
                    let high = try classItem()
                    guard case .scalar(let b) = high else { throw fail("A range in [...] goes between two characters.") }
                    guard a <= b else { throw fail("A range in [...] runs backwards.") }
                    items.append(.range(a, b))
                    continue
                }
                switch low {
                case .scalar(let s): items.append(.range(s, s))
                case .set(let index): items += sets[index].items
                default: throw fail("A character of several code points cannot stand in [...]; write it outside, with |.")
                }
            }
            if items.isEmpty { throw fail("An empty class [] matches nothing.") }
            return addSet(CharSet(negated: negated, items: items))
        }

        mutating func classItem() throws -> Node {
            let c = chars[i]
            i += 1
            if c == "\\" { return try parseEscape() }
            if c.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                throw fail("Control characters are not allowed; write \\t, \\n or \\r.")
            }
            return literal(c)
        }
    }

    /// Emits instructions for a node; sizes were checked before.
    struct Emitter {
        var program: [Instruction] = []

        mutating func emit(_ node: Node) {
            switch node {
            case .empty: break
            case .scalar(let s): program.append(.scalar(s))
            case .character(let c): program.append(.character(c))
            case .any: program.append(.any)
            case .set(let i): program.append(.set(i))
            case .concat(let parts): for p in parts { emit(p) }
            case .alternation(let branches):
                // split(L1, next); L1: a; jump end; next: split(L2, …) … last branch; end.
                var jumps: [Int] = []
                for (k, branch) in branches.enumerated() {
                    if k < branches.count - 1 {
                        let split = program.count
                        program.append(.split(split + 1, 0))
                        emit(branch)
                        jumps.append(program.count)
                        program.append(.jump(0))
                        program[split] = .split(split + 1, program.count)
                    } else {
                        emit(branch)
                    }
                }
                for j in jumps { program[j] = .jump(program.count) }
            case .repetition(let inner, let min, let max):
                for _ in 0..<min { emit(inner) }
                if let max {
                    // Up to max - min optional copies, each a way out to the end.
                    var splits: [Int] = []
                    for _ in 0..<(max - min) {
                        splits.append(program.count)
                        program.append(.split(program.count + 1, 0))
                        emit(inner)
                    }
                    for s in splits { program[s] = .split(s + 1, program.count) }
                } else {
                    let loop = program.count
                    program.append(.split(loop + 1, 0))
                    emit(inner)
                    program.append(.jump(loop))
                    program[loop] = .split(loop + 1, program.count)
                }
            }
        }
    }
}
