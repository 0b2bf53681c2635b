import Foundation
import Testing
@testable import CRMCore

/// The request path's hand-written replacements for Foundation calls give what those gave.
@Suite("Fast paths for text: quoting, trimming, cursors")
struct FastTextTests {
    @Test("quotes are doubled and HTML escaped byte by byte, also before a combining mark (Foundation's replacing missed those)")
    func quoting() {
        let cases: [(String, String, String)] = [   // text, as an identifier, as a literal
            ("plain", "\"plain\"", "'plain'"), ("", "\"\"", "''"), ("a\"b", "\"a\"\"b\"", "'a\"b'"),
            ("中文\"名", "\"中文\"\"名\"", "'中文\"名'"), ("it's", "\"it's\"", "'it''s'"),
            ("a\"\u{301}b", "\"a\"\"\u{301}b\"", "'a\"\u{301}b'"), ("x'\u{301}", "\"x'\u{301}\"", "'x''\u{301}'"),
        ]
        for (text, identifier, literal) in cases {
            #expect(SQLIdentifier.quote(text) == identifier, "\(text.debugDescription)")
            #expect(SQLIdentifier.literal(text) == literal, "\(text.debugDescription)")
        }
        #expect("<b title=\"\u{301} onload=x\">&\u{301}".htmlEscaped == "&lt;b title=&quot;\u{301} onload=x&quot;&gt;&amp;\u{301}")
        #expect("中文 plain".htmlEscaped == "中文 plain")
        // An invoice's CSV fields: the quote before a combining mark is quoted and doubled, a
        // formula before one is defused, and CRLF (one Character) is seen as a line break.
        #expect(InvoiceDocument.field("a\"\u{301}b") == "\"a\"\"\u{301}b\"")
        #expect(InvoiceDocument.field("=\u{301}1+2") == "'=\u{301}1+2")
        #expect(InvoiceDocument.field("a\r\nb") == "\"a\r\nb\"")
        #expect(InvoiceDocument.field("-5") == "-5" && InvoiceDocument.field("plain") == "plain")
    }

    @Test("a search's LIKE pattern escapes %, _ and backslash also before a combining mark")
    func likeEscaping() {
        #expect(RecordStore.escapeLike("50%\u{301} off_x\\") == "50\\%\u{301} off\\_x\\\\")
        #expect(RecordStore.escapeLike("中文") == "中文")
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

    @Test("base64url: no padding, - and _ for + and /, every byte back; bad text is nil")
    func base64URL() throws {
        #expect(Data([0xFB, 0xFF]).base64URLEncoded == "-_8")
        #expect(Data([0xFB, 0xFF, 0xBF]).base64URLEncoded == "-_-_")
        let all = Data((0...255).map { UInt8($0) })
        for length in [0, 1, 2, 3, 254, 255, 256] {
            let bytes = all.prefix(length)
            let text = bytes.base64URLEncoded
            #expect(!text.contains { "+/=".contains($0) } && Data(base64URL: text) == bytes, "\(length)")
        }
        #expect(Data(base64URL: "-_8=") == Data([0xFB, 0xFF]) && Data(base64URL: "+/8") == Data([0xFB, 0xFF]))
        #expect(Data(base64URL: "a*b") == nil && Data(base64URL: "abcde") == nil)
        let token = AccessToken.generate(prefix: "crms")
        #expect(token.hasPrefix("crms_") && token.utf8.count == 48 && Data(base64URL: String(token.dropFirst(5)))?.count == 32)
    }
}
