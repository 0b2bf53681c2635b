import Foundation
import Testing
@testable import CRMCore

/// The request path's hand-written replacements for Foundation calls give what those gave.
@Suite("Fast paths for text: quoting, trimming, cursors")
struct FastTextTests {
    @Test("identifiers and literals double their quotes as replacingOccurrences did")
    func quoting() {
        for name in ["plain", "", "a\"b", "\"\"", "中文\"名", "it's", "''", "x'y'z"] {
            #expect(SQLIdentifier.quote(name) == "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"")
            #expect(SQLIdentifier.literal(name) == "'" + name.replacingOccurrences(of: "'", with: "''") + "'")
        }
    }

    @Test("trimming gives what trimmingCharacters gives, also for Unicode spaces and combining marks")
    func trimming() {
        for text in ["abc", " abc", "abc ", "\tabc\n", "\u{3000}中文\u{3000}", "", " ", "a b", "\u{00A0}x", "e\u{301}", " \u{301}e ", "\n\n"] {
            #expect(text.trimming(.whitespacesAndNewlines) == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text.debugDescription)")
            #expect(text.trimming(.whitespaces) == text.trimmingCharacters(in: .whitespaces), "\(text.debugDescription)")
        }
    }

    @Test("a cursor reads back as itself, with and without a sort value, in URL-safe text")
    func cursor() throws {
        let id = UUID()
        for value in [nil, "2026-12-03 10:00:00+00", "???>>>~~~", "中文 \"quoted\""] as [String?] {
            let cursor = RecordCursor(sort: "name", value: value, id: id)
            let text = cursor.encoded
            #expect(!text.contains { "+/=".contains($0) }, "\(text)")
            #expect(RecordCursor.decode(text) == cursor)
        }
    }
}
