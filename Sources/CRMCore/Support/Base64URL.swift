import Foundation

/// Base64url without padding (RFC 4648 §5): tokens, webhook secrets, generated passwords and list
/// cursors. Byte by byte: each was three NSString replacements after Foundation's base64.
extension Data {
    public var base64URLEncoded: String {
        let base64 = base64EncodedString().utf8.compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "+"): return UInt8(ascii: "-")
            case UInt8(ascii: "/"): return UInt8(ascii: "_")
            case UInt8(ascii: "="): return nil
            default: return byte
            }
        }
        return String(decoding: base64, as: UTF8.self)
    }

    /// The bytes of base64url `text`, padded or not; plain base64's `+` and `/` are read too.
    /// nil when it is neither.
    public init?(base64URL text: String) {
        var bytes = text.utf8.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "-"): return UInt8(ascii: "+")
            case UInt8(ascii: "_"): return UInt8(ascii: "/")
            default: return byte
            }
        }
        while bytes.count % 4 != 0 { bytes.append(UInt8(ascii: "=")) }
        self.init(base64Encoded: Data(bytes))
    }
}
