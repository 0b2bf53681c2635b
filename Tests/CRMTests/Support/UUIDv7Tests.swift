import Foundation
import Testing
@testable import CRMCore

@Suite("UUID v7 and compact hex")
struct UUIDv7Tests {
    @Test("v7 ids carry version 7, the RFC variant and the millisecond time, and sort by it")
    func layout() {
        let t = Date(timeIntervalSince1970: 1_795_000_000.123)
        let id = UUID.v7(now: t)
        let hex = id.compactHex
        #expect(hex.count == 32)
        #expect(hex == id.uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
        #expect(Array(hex)[12] == "7")
        #expect(["8", "9", "a", "b"].contains(Array(hex)[16]))
        #expect(UInt64(hex.prefix(12), radix: 16) == 1_795_000_000_123)
        let later = UUID.v7(now: t.addingTimeInterval(0.002))
        #expect(later.compactHex > hex)
        #expect(Set((0..<1000).map { _ in UUID.v7(now: t) }).count == 1000)
    }
}

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
