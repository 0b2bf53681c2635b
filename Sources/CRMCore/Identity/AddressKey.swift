#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The name a client address is throttled and remembered under. One IPv6 host usually holds a
/// whole /64 (privacy addresses rotate inside it), so IPv6 is keyed by its /64; IPv4 is kept as
/// is, and an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is its IPv4 address. Parsed with
/// `inet_pton`, so every spelling of one address gives one key; anything that is not an address
/// (`unknown`, `local`) is its own key.
public enum AddressKey {
    public static func of(_ address: String) -> String {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { $0.map(String.init).joined(separator: ".") }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return address }
        var bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return bytes[12...].map(String.init).joined(separator: ".")
        }
        for i in 8..<16 { bytes[i] = 0 }
        var prefix = in6_addr()
        withUnsafeMutableBytes(of: &prefix) { $0.copyBytes(from: bytes) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &prefix, &text, socklen_t(text.count)) != nil else { return address }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/64"
    }
}
