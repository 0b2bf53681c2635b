import CRMCore
import Foundation
import Testing

@Suite("JSON text: written directly, the same as Foundation's encoder")
struct JSONTextTests {
    @Test("keys, escapes, numbers and nesting come out byte for byte as JSONEncoder writes them")
    func sameAsFoundation() throws {
        var members: [String: JSONValue] = [:]
        for key in ["a10", "a9", "B", "a", "_x", "Z", "é", "e", "中", "1", "10", "2", "a-b", "a_b", "aB", "A", "quote\"d", "new\nline"] {
            members[key] = .null
        }
        let values: [JSONValue] = [
            .object(members),
            .string("x/y\"z\\\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}é中😀\u{2028}"),
            .number(Decimal(string: "1.50")!), .number(Decimal(string: "-0.000001")!),
            .number(Decimal(string: "123456789012345678901234567890")!), .number(Decimal(string: "1e30")!),
            .number(Decimal(string: "1.5e-20")!), .number(0), .number(Decimal(1_733_108_645.123456)), .number(-5),
            .array([.bool(true), .bool(false), .null, .array([]), .object([:])]),
            .object(["run": .object(["changes": .object(["level": .object(["old": .string("normal"), "new": .string("vip")])]),
                                     "steps": .array([.object(["step": .number(0), "output": .null])])])]),
        ]
        for value in values { #expect(value.jsonText == value.foundationJSONText) }
        // And what it writes reads back as the same value.
        for value in [values[0], values[1], values[10], values[11]] { #expect(JSONValue.parse(value.jsonText) == value) }
    }

    @Test("stored JSON reads as JSONDecoder read it: any value at the top, PostgreSQL's spacing; not JSON is nil")
    func parseStored() throws {
        let texts = [
            #"{"name": "上海卓越", "level": ["normal", "vip"], "amount": [null, 1250.50], "n": -3, "e": 1.5e-7, "ok": true}"#,
            #"[1, "two", {"three": [3.0, false]}, [], {}]"#, #""x\/y\"z\u00e9\ud83d\ude00""#, "42", "-0.25", "true", "null",
            #"{"deep": {"er": {"still": [[["x"]]]}}}"#, "  {\n\t\"a\" : 1 }  ",
        ]
        for text in texts {
            let reference = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(JSONValue.parse(text) == reference, "\(text)")
        }
        // Not JSON, or a number no Decimal holds: nil, never a value read as something else.
        for broken in ["", "{", #"{"a": 1} x"#, "[1,]", "nul", #"{"a" 1}"#, "\"open", #"{"n": 1e400}"#, "[12345678901234567890123456789012345678901]"] {
            #expect(JSONValue.parse(broken) == nil, "\(broken)")
        }
    }
}
