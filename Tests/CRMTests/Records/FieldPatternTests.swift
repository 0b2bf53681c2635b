@testable import CRMCore
import Foundation
import Testing

/// The linear-time matcher of custom text fields' patterns (`FieldPattern`).
@Suite("Records: field patterns")
struct FieldPatternTests {
    func matches(_ pattern: String, _ value: String) throws -> Bool {
        let compiled = try FieldPattern.compile(pattern).get()
        return try #require(compiled.matches(value))
    }

    /// ICU's answer for a whole-value match, as values were checked before.
    func icu(_ pattern: String, _ value: String) -> Bool {
        value.range(of: "^(?:\(pattern))$", options: .regularExpression) != nil
    }

    @Test("patterns of the grammar answer as ICU did for whole values")
    func sameAsICU() throws {
        let patterns = [
            "[A-Z]{2}[0-9]{4}", "^\\d{6}$", "(CN|US)-[0-9]+", "[a-z(]+", "\\(\\d+\\)+", "a*a*a*b", "(a|ab)(c|bcd)(d*)",
            "[^0-9]+", "\\w+@\\w+\\.com", "x{2,}", "x{1,3}y?", "(?:ab)+|c", "[-a-c]+", "[a-c-]+", "\\.\\*\\+\\?", ".+",
            "\\s*\\S+", "\\D\\W", "(a?){3}", "(a*)*b", "[\\d.]+", "[\\]\\[]+", "^ab$|^cd$", "a+?b", "a??b", "(|a)b",
            "\\u0041\\x{42}", "[a-zA-Z0-9_]{3,16}", "\\d{3}-\\d{4}",
        ]
        let values = ["", "a", "b", "ab", "aab", "aaab", "AB1234", "ab1234", "123456", "12345", "CN-12", "US-", "(12)(3)", "abcd",
                      "abcdd", "abd", "x", "xx", "xxx", "xxxy", "xyy", "abab", "c", "abc", "-ab", "ab-", ".*+?", "  word",
                      "7!", "a_b@c.com", "1.5", "[]", "cd", "AB", "hello_world", "555-1234", "é", "上海"]
        for p in patterns {
            for v in values {
                #expect(try matches(p, v) == icu(p, v), "pattern \(p) value \(v.debugDescription)")
            }
        }
    }

    @Test("the issue's 12-star pattern is a valid pattern and answers at once for 255 a's")
    func starsPattern() throws {
        let stars = String(repeating: "a*", count: 12) + "b"
        let compiled = try FieldPattern.compile(stars).get()
        #expect(compiled.matches(String(repeating: "a", count: 255)) == false)
        #expect(compiled.matches(String(repeating: "a", count: 254) + "b") == true)
        // The program is linear in the pattern, so the work is at most states × (characters + 1).
        #expect(compiled.program.count < 40)
    }

    @Test("values match by character: CJK, composed and decomposed accents")
    func unicode() throws {
        #expect(try matches("[一-龥]{2,4}", "上海华信"))
        #expect(try !matches("[一-龥]{2,4}", "上海华信贸易"))
        #expect(try matches("[\\u4e00-\\u9fff]+有限公司", "华信有限公司"))
        #expect(try matches(".{4}", "上海华信"))
        #expect(try matches("\\w+", "上海华信"))
        #expect(try matches("上海(华信|华为)", "上海华为"))
        #expect(try !matches("\\d+", "上海"))
        #expect(try matches("\\d+", "١٢٣"), "Arabic-Indic digits are decimal digits, as in ICU")
        // One character whatever its code points: max_length counts the same way.
        let decomposed = "e\u{301}"
        #expect(try matches("caf.", "caf" + decomposed))
        #expect(try matches("café", "caf" + decomposed))
        #expect(try matches("caf[à-ÿ]", "caf" + decomposed))
        #expect(try matches("\\w{4}", "caf" + decomposed))
        #expect(try matches("👍🏽.", "👍🏽!"))
        #expect(try !matches(".", "a\nb"))
        // `$` is the end of the value: ICU's also matched before a final line break.
        #expect(try !matches("[a-z]+", "abc\n") && icu("[a-z]+", "abc\n"))
    }

    @Test("constructs outside the grammar are refused, naming them")
    func refused() {
        let cases: [(String, String)] = [
            ("(\\w)\\1", "Back-references"), ("a(?=b)", "Look-ahead"), ("(?<!a)b", "Look-behind"), ("(?<n>a)", "Named groups"),
            ("(?>a+)", "Atomic"), ("(?i)abc", "flags"), ("a*+", "Possessive"), ("\\bword", "Word boundaries"),
            ("a\\z", "Anchors"), ("\\p{L}+", "Unicode property"), ("[[:alpha:]]", "Nested classes"), ("[a-z&&[^x]]", "intersection"),
            ("(unclosed", "not closed"), ("a)", "Unbalanced"), ("[abc", "not closed"), ("*a", "nothing to repeat"),
            ("a**", "Two quantifiers"), ("a{2", "repetition count"), ("a{1001}", "up to 1000"), ("a{3,2}", "less than"),
            ("(a{1000}){1000}", "more than 2000 states"), ("a^b", "'^'"), ("(a$)", "'$'"), ("[z-a]", "backwards"), ("[]", "empty"),
            ("\\", "lone"), ("\\Qa\\E", "Quoting"), ("\\k<n>", "Named back-references"), ("a\u{0}", "Control characters"),
            ("\\u12", "four hex"), ("\\y", "escape \\y"),
        ]
        for (pattern, words) in cases {
            switch FieldPattern.compile(pattern) {
            case .success: Issue.record("\(pattern.debugDescription) compiled")
            case .failure(let why): #expect(why.reason.contains(words), "\(pattern.debugDescription): \(why.reason)")
            }
        }
    }

    @Test("repetitions expand within the state bound")
    func expansion() throws {
        let compiled = try FieldPattern.compile("((a{10}){10}){10}").get()
        #expect(compiled.matches(String(repeating: "a", count: 1000)) == true)
        #expect(compiled.matches(String(repeating: "a", count: 999)) == false)
        #expect(try matches("(a|b){0,5}c", "ababc"))
        #expect(try !matches("(a|b){0,5}c", "abababc"))
        // A value longer than the step bound allows is not checked at all (nil), not slowly.
        let big = try FieldPattern.compile("a{1000}b{900}").get()
        #expect(big.matches(String(repeating: "a", count: 5_000)) == nil)
    }

    @Test("compiled patterns are cached, within a bound")
    func cache() {
        for i in 0..<(FieldPattern.cacheLimit + 100) { _ = FieldPattern.compiled("cache-test-\(i)[0-9]+") }
        #expect(FieldPattern.cacheCount <= FieldPattern.cacheLimit)
        if case .failure = FieldPattern.compiled("cache-test-0[0-9]+") { Issue.record("an evicted pattern compiles again") }
    }

    @Test("api names are checked byte by byte: a trailing newline is refused")
    func apiNames() {
        for bad in ["abc\n", "abc\r\n", "\nabc", "Abc", "a__b", "ab_", "_ab", "1ab", "ab-c", "ab c", "abé", String(repeating: "a", count: 41), ""] {
            #expect(!FieldAdminService.isApiName(bad), "\(bad.debugDescription)")
        }
        for good in ["abc", "a1", "a_b_c", "credit_limit", String(repeating: "a", count: 40)] {
            #expect(FieldAdminService.isApiName(good), "\(good)")
        }
    }

    @Test("identifiers and names reach SQL text through one quoting function")
    func quoting() throws {
        #expect(SQLIdentifier.quote("a\"b") == "\"a\"\"b\"")
        #expect(SQLIdentifier.literal("it's") == "'it''s'")
        #expect(try SQLIdentifier("cf_x").quoted == "\"cf_x\"" && SQLIdentifier("t_role").literal == "'t_role'")
        let field = FieldDefinition(object: "customer", apiName: "x'y", label: "X", type: .text, column: try SQLIdentifier("cf_x"),
                                    isCustom: true, isSystem: false, required: false, unique: false, filterable: false, searchable: false,
                                    defaultValue: nil, options: FieldOptions(), position: 1)
        #expect(RecordSQL.json([field]) == "jsonb_build_object('x''y', t.\"cf_x\")")
    }
}
