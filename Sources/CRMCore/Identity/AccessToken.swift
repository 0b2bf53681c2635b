import Crypto
import Foundation
import NIOCore

/// Opaque bearer tokens: 256 random bits, shown to the client once and stored only as SHA-256.
public enum AccessToken {
    /// A new token like `crms_<43 base64url characters>`; the prefix tells what it is for.
    public static func generate(prefix: String) -> String {
        let key = SymmetricKey(size: .bits256)
        let raw = key.withUnsafeBytes { Data($0) }
        return prefix + "_" + raw.base64URLEncoded
    }

    /// What the database keeps (bytea).
    public static func hash(_ token: String) -> ByteBuffer {
        ByteBuffer(bytes: SHA256.hash(data: Data(token.utf8)))
    }

    public static let sessionPrefix = "crms"
    public static let apiPrefix = "crmp"
    public static let operatorPrefix = "crmo"
}
