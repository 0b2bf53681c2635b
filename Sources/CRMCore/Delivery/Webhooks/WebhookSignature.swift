import Crypto
import Foundation

/// Stripe-style signing: `CRM-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`, each `v1` the
/// HMAC-SHA256, keyed with a secret's text as shown (`whsec_…`, UTF-8), of `"<t>.<raw body>"`.
/// One `v1` per valid secret, so a receiver mid-rotation accepts either.
public enum WebhookSignature {
    /// The header's value for `body` sent at `timestamp` and signed with each of `secrets`.
    public static func header(body: [UInt8], timestamp: Int, secrets: [String]) -> String {
        (["t=\(timestamp)"] + secrets.map { "v1=" + sign(body: body, timestamp: timestamp, secret: $0) }).joined(separator: ",")
    }

    /// Lower-case hex of HMAC-SHA256(secret, "<timestamp>.<body>").
    public static func sign(body: [UInt8], timestamp: Int, secret: String) -> String {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
        mac.update(data: Array("\(timestamp).".utf8))
        mac.update(data: body)
        return mac.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// A new secret: `whsec_` and 32 random bytes in base64url without padding (43 characters).
    public static func newSecret() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return "whsec_" + Data(bytes).base64URLEncoded
    }
}
