import Foundation

/// Parses a request body into `JSONValue`s in one linear pass, refusing what no client of this
/// API needs to send, each with a 400 (`CRMError`):
/// - a body that is not an object, or is not JSON (`malformed-body`, with the byte offset)
/// - nesting deeper than `Limits.maxDepth` (`malformed-body`)
/// - a key twice in one object (`duplicate_key`, naming it): which value counts would depend on
///   the parser, and a proxy that checked the first could be fooled by the last
/// - invalid UTF-8, raw control characters in strings, a lone UTF-16 surrogate escape
/// - numbers that `Decimal` cannot hold exactly: beyond its range (`1e400`) or with more than 38
///   significant digits (`out_of_range`, naming the field); Foundation's decoder rounded these
/// - arrays longer than `Limits.maxArrayCount`, when set (`too_many`, naming the array)
///
/// Why not `JSONDecoder` into `JSONValue`: its `Decoder` cannot say which type a value is, so
/// each value was tried as a bool, a string, a number…, each miss building an error; a body of
/// 900,000 numbers took seconds, holding the request's database connection.
public struct JSONParser {
    public struct Limits: Sendable {
        public var maxDepth: Int
        public var maxArrayCount: Int?
        /// Refuse numbers beyond `Decimal` (400 `out_of_range`). Typed bodies turn it off: the
        /// parse only checks their shape, `JSONDecoder` reads the members they have (and the
        /// noted error names the member when it fails on one), and a member they do not have is
        /// ignored whatever number it holds.
        public var refusesUnrepresentableNumbers: Bool
        public init(maxDepth: Int = 32, maxArrayCount: Int? = nil, refusesUnrepresentableNumbers: Bool = true) {
            self.maxDepth = maxDepth
            self.maxArrayCount = maxArrayCount
            self.refusesUnrepresentableNumbers = refusesUnrepresentableNumbers
        }
    }

    /// Most significant digits of a number (`Decimal`'s mantissa, and PostgreSQL's numeric
    /// precision in this API).
    public static let maxDigits = 38

    /// The object `bytes` hold.
    public static func parseObject(_ bytes: UnsafeRawBufferPointer, limits: Limits = Limits()) throws -> [String: JSONValue] {
        try parse(bytes, limits: limits).object
    }

    /// The object, and with `refusesUnrepresentableNumbers` off the error the first number
    /// `Decimal` cannot hold would have been (its value in the object is 0).
    static func parse(_ bytes: UnsafeRawBufferPointer, limits: Limits) throws -> (object: [String: JSONValue], firstUnrepresentable: CRMError?) {
        var parser = JSONParser(bytes: bytes, limits: limits)
        parser.skipSpace()
        guard parser.i < bytes.count, bytes[parser.i] == UInt8(ascii: "{") else {
            throw CRMError(.malformedBody, "The body must be a JSON object.")
        }
        guard case .object(let object) = try parser.value() else { throw CRMError(.malformedBody, "The body must be a JSON object.") }
        parser.skipSpace()
        guard parser.i == bytes.count else { throw parser.syntax("text after the object") }
        return (object, parser.firstUnrepresentable)
    }

    public static func parseObject(_ bytes: [UInt8], limits: Limits = Limits()) throws -> [String: JSONValue] {
        try bytes.withUnsafeBytes { try parseObject($0, limits: limits) }
    }

    /// Limits for JSON this server or PostgreSQL wrote (jsonb columns, stored definitions): any
    /// value at the top and deep nesting. A number `Decimal` cannot hold makes the whole text nil
    /// (below), never a silent 0.
    static let storedLimits = Limits(maxDepth: 512, refusesUnrepresentableNumbers: false)

    /// Any JSON value `text` holds, or nil when it is not JSON: `JSONValue.parse`.
    static func parseValue(_ text: String) -> JSONValue? {
        var text = text
        return text.withUTF8 { utf8 in
            let bytes = UnsafeRawBufferPointer(utf8)
            var parser = JSONParser(bytes: bytes, limits: storedLimits)
            guard let value = try? parser.value() else { return nil }
            parser.skipSpace()
            return parser.i == bytes.count && parser.firstUnrepresentable == nil ? value : nil
        }
    }

    let bytes: UnsafeRawBufferPointer
    let limits: Limits
    var i = 0
    var depth = 0
    /// Keys and indexes from the body down to the value being read, for errors.
    var path: [String] = []
    var firstUnrepresentable: CRMError?

    init(bytes: UnsafeRawBufferPointer, limits: Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    static let posix = Locale(identifier: "en_US_POSIX")

    var pathText: String { String(path.joined(separator: ".").prefix(100)) }

    func syntax(_ what: String) -> CRMError {
        CRMError(.malformedBody, "The body is not valid JSON: \(what) at byte \(i).")
    }

    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func value() throws -> JSONValue {
        skipSpace()
        guard i < bytes.count else { throw syntax("the body ends early") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw syntax("an unexpected character")
        }
    }

    mutating func enter() throws {
        depth += 1
        if depth > limits.maxDepth { throw CRMError(.malformedBody, "The body nests deeper than \(limits.maxDepth) levels.") }
    }

    mutating func object() throws -> JSONValue {
        try enter()
        i += 1
        var out: [String: JSONValue] = [:]
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(out)
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw syntax("a key was expected") }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw syntax("':' was expected") }
            i += 1
            path.append(key)
            let v = try value()
            if out.updateValue(v, forKey: key) != nil {
                throw CRMError.invalid(pathText, "duplicate_key", "This key appears twice in one object.")
            }
            path.removeLast()
            skipSpace()
            guard i < bytes.count else { throw syntax("the body ends early") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            guard bytes[i] == UInt8(ascii: "}") else { throw syntax("',' or '}' was expected") }
            i += 1
            depth -= 1
            return .object(out)
        }
    }

    mutating func array() throws -> JSONValue {
        try enter()
        i += 1
        var out: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array(out)
        }
        while true {
            if let max = limits.maxArrayCount, out.count == max {
                throw CRMError.invalid(pathText, "too_many", "At most \(max) items.")
            }
            path.append(String(out.count))
            out.append(try value())
            path.removeLast()
            skipSpace()
            guard i < bytes.count else { throw syntax("the body ends early") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            guard bytes[i] == UInt8(ascii: "]") else { throw syntax("',' or ']' was expected") }
            i += 1
            depth -= 1
            return .array(out)
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard i + count <= bytes.count else { throw syntax("an unexpected character") }
        for k in 0..<count where bytes[i + k] != word.utf8Start[k] { throw syntax("an unexpected character") }
        i += count
    }

    /// A string from its opening quote; escapes resolved, UTF-8 checked.
    mutating func string() throws -> String {
        i += 1
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                defer { i += 1 }
                return try text(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
            }
            if b == UInt8(ascii: "\\") { return try escapedString(from: start) }
            if b < 0x20 { throw syntax("a control character inside a string (escape it)") }
            i += 1
        }
        throw syntax("a string is not closed")
    }

    func text(_ raw: some Collection<UInt8>) throws -> String {
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw CRMError(.malformedBody, "The body is not valid UTF-8 (near byte \(i)).")
        }
        return s
    }

    /// The slow path, from the first backslash: bytes are collected with escapes decoded.
    mutating func escapedString(from start: Int) throws -> String {
        var out = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return try text(out)
            }
            if b < 0x20 { throw syntax("a control character inside a string (escape it)") }
            guard b == UInt8(ascii: "\\") else { out.append(b); i += 1; continue }
            guard i + 1 < bytes.count else { throw syntax("a string is not closed") }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else { throw loneSurrogate() }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw loneSurrogate() }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw loneSurrogate()
                }
                guard let s = Unicode.Scalar(scalar) else { throw loneSurrogate() }
                out.append(contentsOf: String(Character(s)).utf8)
            default: throw syntax("an unknown escape")
            }
        }
        throw syntax("a string is not closed")
    }

    func loneSurrogate() -> CRMError {
        CRMError.invalid(pathText, "invalid_value", "A \\u escape names half of a character (a lone surrogate).")
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw syntax("\\u takes four hex digits") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw syntax("\\u takes four hex digits")
            }
            v = v * 16 + UInt32(d)
            i += 1
        }
        return v
    }

    /// A number, exactly: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`.
    mutating func number() throws -> Decimal {
        let start = i
        var negative = false
        if bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        func isDigit(_ k: Int) -> Bool { k < bytes.count && bytes[k] >= 0x30 && bytes[k] <= 0x39 }
        guard isDigit(i) else { throw syntax("a number has no digits") }
        // Significant digits: leading zeros do not count; trailing zeros are counted at the end.
        var significant = 0, trailingZeros = 0
        // All digits, integer and fraction, while they fit 17 (exact in Int64), and how many.
        var mantissa: Int64 = 0, mantissaDigits = 0, fractionDigits = 0
        func digit(_ b: UInt8) {
            if b == 0x30 {
                if significant > 0 { trailingZeros += 1 }
            } else {
                significant += trailingZeros + 1
                trailingZeros = 0
            }
            mantissaDigits += 1
            if mantissaDigits <= 17 { mantissa = mantissa * 10 + Int64(b - 0x30) }
        }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) { throw syntax("a number starts with 0") }
        } else {
            while isDigit(i) { digit(bytes[i]); i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { throw syntax("a number has no digits after '.'") }
            while isDigit(i) { digit(bytes[i]); fractionDigits += 1; i += 1 }
        }
        var exponent = 0, exponentDigits = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var sign = 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                if bytes[i] == UInt8(ascii: "-") { sign = -1 }
                i += 1
            }
            guard isDigit(i) else { throw syntax("a number has no digits in its exponent") }
            while isDigit(i) {
                exponentDigits += 1
                if exponentDigits <= 4 { exponent = exponent * 10 + Int(bytes[i] - 0x30) }
                i += 1
            }
            exponent *= sign
        }
        if significant > Self.maxDigits || i - start > 200 {
            return try unrepresentable("A number has at most \(Self.maxDigits) significant digits.")
        }
        // Up to 17 digits and a modest exponent: exact from the Int64 mantissa, without the
        // cost of Decimal's string parser (a body of 190,000 decimals took 0.4 s through it).
        let scale = exponent - fractionDigits
        if mantissaDigits <= 17, exponentDigits <= 3, (-100...100).contains(scale) {
            if scale == 0 { return Decimal(negative ? -mantissa : mantissa) }
            return Decimal(sign: negative ? .minus : .plus, exponent: scale, significand: Decimal(mantissa))
        }
        // Far below any column's scale (and below what Decimal holds): zero, as the column would
        // round it. Large magnitudes stay refused below.
        if significant == 0 || mantissaDigits + scale < -100 { return 0 }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        guard let d = Decimal(string: text, locale: Self.posix), !d.isNaN else {
            return try unrepresentable("A number outside the range this API takes.")
        }
        return d
    }

    /// A number `Decimal` cannot hold: refused, or noted (the first one) and read as 0.
    mutating func unrepresentable(_ message: String) throws -> Decimal {
        let error = CRMError.invalid(pathText, "out_of_range", message)
        if limits.refusesUnrepresentableNumbers { throw error }
        if firstUnrepresentable == nil { firstUnrepresentable = error }
        return 0
    }
}
