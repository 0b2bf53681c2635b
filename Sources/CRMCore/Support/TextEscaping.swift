/// Escaping for SQL, CSV and HTML, byte by byte. Not Foundation's `replacingOccurrences`: on Linux
/// it searches by character, so a quote followed by a combining mark (`"` + U+0301) is one
/// character that is not `"`, and was left unescaped; PostgreSQL, spreadsheets and browsers read
/// the quote. Each mark here is ASCII, so it never occurs inside a multi-byte UTF-8 sequence.
extension String {
    /// With every `mark` doubled: SQL identifiers and literals, CSV fields.
    public func doubling(_ mark: UInt8) -> String {
        guard utf8.contains(mark) else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 4)
        for byte in utf8 {
            out.append(byte)
            if byte == mark { out.append(byte) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// For HTML text and double-quoted attribute values: `& < > "` as entities.
    public var htmlEscaped: String {
        guard utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 }) else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 16)
        for byte in utf8 {
            switch byte {
            case 0x26: out.append(contentsOf: "&amp;".utf8)
            case 0x3C: out.append(contentsOf: "&lt;".utf8)
            case 0x3E: out.append(contentsOf: "&gt;".utf8)
            case 0x22: out.append(contentsOf: "&quot;".utf8)
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
