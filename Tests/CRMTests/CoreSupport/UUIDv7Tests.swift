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
