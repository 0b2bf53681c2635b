import Foundation
import Testing
@testable import CRMCore

@Suite("Log lines and header trimming")
struct LogLineTests {
    @Test("log strings are valid JSON whatever they hold; timestamps are UTC with milliseconds")
    func escaping() throws {
        var out = [UInt8]()
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{07} 中文 /slash"
        JSONLogHandler.appendString(nasty, to: &out)
        let decoded = try JSONSerialization.jsonObject(with: Data(out), options: .fragmentsAllowed) as? String
        #expect(decoded == nasty)
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 1_795_000_000.123)) == "2026-11-18T11:06:40.123Z")
    }

    @Test("header values lose surrounding spaces and tabs only")
    func trimming() {
        #expect(" \tacme-co \t".trimmingSpacesAndTabs == "acme-co")
        #expect("   ".trimmingSpacesAndTabs == "")
        #expect("a b".trimmingSpacesAndTabs == "a b")
        #expect("token\n".trimmingSpacesAndTabs == "token\n")
    }
}
