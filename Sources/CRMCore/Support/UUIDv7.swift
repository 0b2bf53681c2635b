import Foundation

extension UUID {
    /// A time-ordered UUID (RFC 9562 version 7): 48 bits of Unix milliseconds, then random bits.
    public static func v7(now: Date = Date()) -> UUID {
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        // Two draws, not sixteen: each draw of the system generator is a syscall.
        var rng = SystemRandomNumberGenerator()
        let high = (millis << 16) | (rng.next() & 0x0FFF) | 0x7000
        let low = (rng.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let h = high.bigEndian, l = low.bigEndian
        return withUnsafeBytes(of: (h, l)) { raw in
            UUID(uuid: (raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
                        raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]))
        }
    }

    /// The UUID whose `compactHex` this is (32 hex digits); nil for anything else.
    public init?(compactHex hex: String) {
        guard hex.utf8.count == 32 else { return nil }
        let h = Array(hex)
        self.init(uuidString: String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-" + String(h[16..<20]) + "-" + String(h[20..<32]))
    }

    /// Lower-case hex without dashes, used to name a tenant's schema and role and as request id.
    public var compactHex: String {
        let digits: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: uuid) { raw in
            String(unsafeUninitializedCapacity: 32) { out in
                digits.withUTF8Buffer { d in
                    for (i, byte) in raw.enumerated() {
                        out[2 * i] = d[Int(byte >> 4)]
                        out[2 * i + 1] = d[Int(byte & 0x0F)]
                    }
                }
                return 32
            }
        }
    }
}
