import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which URLs a webhook may be sent to. A hosted service must not be made to POST into its own
/// network (SSRF): a URL must be http(s) without credentials, and every address its host
/// resolves to must be public — not loopback, private, shared (CGNAT), link-local (cloud
/// metadata at 169.254.169.254), unique-local, multicast or unspecified. Checked when an endpoint
/// is saved and again before each attempt, because DNS can change.
///
/// `allowPrivate` (`CRM_WEBHOOK_ALLOW_PRIVATE=1`) lifts the address rule and allows plain http,
/// for tests and local setups. Otherwise only https is accepted: the body carries customer data,
/// and a signature proves where it came from but does not hide it.
public struct WebhookURLPolicy: Sendable {
    public static let maxLength = 2000
    public var allowPrivate: Bool

    public init(allowPrivate: Bool) { self.allowPrivate = allowPrivate }

    /// The URL, or a 400 naming `field` with a code saying why not.
    public func check(_ text: String, field: String = "url") async throws -> URL {
        let url = try checkShape(text, field: field)
        try await checkAddresses(url, field: field)
        return url
    }

    /// Everything but the resolution: scheme, credentials, host, length.
    public func checkShape(_ text: String, field: String = "url") throws -> URL {
        func refuse(_ code: String, _ message: String) -> CRMError { CRMError.invalid(field, code, message) }
        guard !text.isEmpty else { throw refuse("required", "A webhook needs a URL.") }
        guard text.count <= Self.maxLength else { throw refuse("too_long", "At most \(Self.maxLength) characters.") }
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0.value > 0x7E }),
              let components = URLComponents(string: text), let url = components.url, let scheme = components.scheme?.lowercased()
        else { throw refuse("invalid_url", "Not a valid absolute URL (non-ASCII characters must be percent-encoded).") }
        guard scheme == "https" || scheme == "http" else { throw refuse("unsupported_scheme", "Only http and https URLs take webhooks.") }
        guard scheme == "https" || allowPrivate else { throw refuse("https_required", "Webhook URLs must use https.") }
        guard components.user == nil && components.password == nil else {
            throw refuse("credentials_in_url", "A webhook URL must not carry a user name or password; verify the signature instead.")
        }
        guard let host = Self.host(of: components), !host.isEmpty else { throw refuse("invalid_url", "The URL has no host.") }
        guard !host.contains("%") else { throw refuse("invalid_url", "A host with a zone index is not accepted.") }
        return url
    }

    /// Resolves the host and refuses it when any of its addresses is not public.
    public func checkAddresses(_ url: URL, field: String = "url") async throws {
        guard !allowPrivate else { return }
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false), let host = Self.host(of: components) else {
            throw CRMError.invalid(field, "invalid_url", "The URL has no host.")
        }
        let addresses = await Self.resolve(host)
        guard !addresses.isEmpty else {
            throw CRMError.invalid(field, "unresolvable_host", "The host \(host) does not resolve to an address.")
        }
        if addresses.contains(where: Self.isBlocked) {
            throw CRMError.invalid(field, "private_address",
                                   "The host \(host) resolves to a loopback, private, link-local or metadata address; webhooks go to public addresses only.")
        }
    }

    static func host(of components: URLComponents) -> String? {
        guard var host = components.host?.lowercased() else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host
    }

    /// Whether an address (4 or 16 bytes) is one webhooks must not reach.
    static func isBlocked(_ a: [UInt8]) -> Bool {
        if a.count == 4 { return isBlockedV4(a) }
        guard a.count == 16 else { return true }
        let zeros10 = a[0..<10].allSatisfy { $0 == 0 }
        if a.allSatisfy({ $0 == 0 }) { return true }                                  // ::
        if a[0..<15].allSatisfy({ $0 == 0 }) && a[15] == 1 { return true }             // ::1
        if zeros10 && a[10] == 0xFF && a[11] == 0xFF { return isBlockedV4(Array(a[12..<16])) }  // ::ffff:a.b.c.d
        if a[0..<12].allSatisfy({ $0 == 0 }) { return isBlockedV4(Array(a[12..<16])) } // ::a.b.c.d
        if a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xFF && a[3] == 0x9B && a[4..<12].allSatisfy({ $0 == 0 }) {
            return isBlockedV4(Array(a[12..<16]))                                      // 64:ff9b::/96 (NAT64)
        }
        if a[0] & 0xFE == 0xFC { return true }                                         // fc00::/7 unique local
        if a[0] == 0xFE && a[1] & 0xC0 == 0x80 { return true }                         // fe80::/10 link-local
        if a[0] == 0xFE && a[1] & 0xC0 == 0xC0 { return true }                         // fec0::/10 site-local
        if a[0] == 0xFF { return true }                                                // multicast
        return false
    }

    static func isBlockedV4(_ a: [UInt8]) -> Bool {
        switch (a[0], a[1]) {
        case (0, _), (10, _), (127, _): return true                 // this network, private, loopback
        case (169, 254): return true                                 // link-local, cloud metadata
        case (172, 16...31), (192, 168): return true                 // private
        case (100, 64...127): return true                            // shared (CGNAT), Alibaba metadata
        case (192, 0) where a[2] == 0: return true                   // IETF protocol assignments
        case (198, 18...19): return true                             // benchmarking
        case (224...255, _): return true                             // multicast, reserved, broadcast
        default: return false
        }
    }

    /// The host's addresses (4 or 16 bytes each); empty when it does not resolve. getaddrinfo
    /// blocks, so it runs on a thread of its own, not on the concurrency pool.
    static func resolve(_ host: String) async -> [[UInt8]] {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: resolveBlocking(host)) }
        }
    }

    static func resolveBlocking(_ host: String) -> [[UInt8]] {
        var hints = addrinfo()
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var out: [[UInt8]] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let info = next {
            if let address = info.pointee.ai_addr {
                if info.pointee.ai_family == AF_INET {
                    let sin = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                    out.append(withUnsafeBytes(of: sin.sin_addr) { Array($0) })
                } else if info.pointee.ai_family == AF_INET6 {
                    let sin6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                    out.append(withUnsafeBytes(of: sin6.sin6_addr) { Array($0) })
                }
            }
            next = info.pointee.ai_next
        }
        return out
    }
}
