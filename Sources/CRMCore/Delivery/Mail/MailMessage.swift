import Foundation

/// A plain-text e-mail as it goes over the wire (RFC 5322): UTF-8 subject and display name as
/// RFC 2047 encoded words, the body quoted-printable, CRLF line ends. Every header value that
/// comes from data has its control characters (CR and LF among them) replaced by spaces, so no
/// value can end its header and start another.
public struct MailMessage: Sendable, Equatable {
    public var from: String
    public var to: String
    public var toName: String?
    public var subject: String
    public var body: String
    /// Without angle brackets: `<id>@<domain>`.
    public var messageId: String
    public var date: Date

    public init(from: String, to: String, toName: String? = nil, subject: String, body: String, messageId: String, date: Date) {
        self.from = from
        self.to = to
        self.toName = toName
        self.subject = subject
        self.body = body
        self.messageId = messageId
        self.date = date
    }

    /// Whether `address` is one this client sends to or from: `local@domain`, printable ASCII
    /// without spaces, angle brackets, quotes or control characters, at most 254 characters.
    /// An address from data that is not is refused, never cleaned into another address.
    public static func isSendable(_ address: String) -> Bool {
        guard address.utf8.count <= 254, let at = address.lastIndex(of: "@"),
              at != address.startIndex, address.index(after: at) != address.endIndex else { return false }
        return address.unicodeScalars.allSatisfy { s in
            s.value > 0x20 && s.value < 0x7F && !"<>\"(),;:[]\\".unicodeScalars.contains(s)
        } && address.filter { $0 == "@" }.count == 1
    }

    /// The message as sent after DATA (before dot-stuffing), ending with CRLF.
    public func rendered() -> String {
        var lines: [String] = []
        lines.append("Date: " + Self.rfc5322Date(date))
        lines.append("From: <\(Self.headerSafe(from))>")
        if let toName, !Self.headerSafe(toName).trimmingCharacters(in: .whitespaces).isEmpty {
            lines.append("To: " + Self.encodedPhrase(Self.headerSafe(toName)) + " <\(Self.headerSafe(to))>")
        } else {
            lines.append("To: <\(Self.headerSafe(to))>")
        }
        lines.append("Subject: " + Self.encodedText(Self.headerSafe(subject), prefix: "Subject: ".count))
        lines.append("Message-ID: <\(Self.headerSafe(messageId))>")
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: text/plain; charset=utf-8")
        lines.append("Content-Transfer-Encoding: quoted-printable")
        lines.append("Auto-Submitted: auto-generated")
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + Self.quotedPrintable(body)
    }

    /// A header value with every control character (CR, LF, tab, …) replaced by a space.
    public static func headerSafe(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { s in
            (s.value < 0x20 || s.value == 0x7F || (0x80..<0xA0).contains(s.value) || s == "\u{2028}" || s == "\u{2029}") ? " " : s
        }))
    }

    /// Unstructured text (a subject): as is when it is short printable ASCII, otherwise as
    /// base64 encoded words of whole characters, each line at most 76 characters.
    static func encodedText(_ text: String, prefix: Int) -> String {
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }), prefix + text.utf8.count <= 76,
           !text.contains("=?") {
            return text
        }
        return encodedWords(text, firstLine: prefix)
    }

    /// A display name: always encoded words (no phrase quoting rules to get wrong).
    static func encodedPhrase(_ text: String) -> String { encodedWords(text, firstLine: "To: ".count) }

    /// `=?UTF-8?B?…?=` words, split between characters so each stays under 76 characters,
    /// joined by CRLF SPACE (folding).
    static func encodedWords(_ text: String, firstLine: Int) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        let overhead = "=?UTF-8?B??=".count
        func flush() {
            guard !chunk.isEmpty else { return }
            words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
            chunk = []
        }
        for character in text {
            let bytes = Array(String(character).utf8)
            let budget = (words.isEmpty ? 76 - firstLine : 75) - overhead
            if !chunk.isEmpty, (chunk.count + bytes.count + 2) / 3 * 4 > budget { flush() }
            chunk += bytes
        }
        flush()
        return words.isEmpty ? "" : words.joined(separator: "\r\n ")
    }

    /// Quoted-printable (RFC 2045) of UTF-8 text, with CRLF line ends and soft breaks keeping
    /// lines within 76 characters.
    static func quotedPrintable(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var out: [String] = []
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            var current = ""
            let bytes = Array(line.utf8)
            for (i, byte) in bytes.enumerated() {
                let last = i == bytes.count - 1
                var piece: String
                if (byte >= 33 && byte <= 126 && byte != 61) || (byte == 32 && !last) || (byte == 9 && !last) {
                    piece = String(UnicodeScalar(byte))
                } else {
                    piece = String(format: "=%02X", byte)
                }
                if current.count + piece.count > 75 {
                    out.append(current + "=")
                    current = ""
                }
                current += piece
            }
            out.append(current)
        }
        return out.joined(separator: "\r\n") + "\r\n"
    }

    /// The DATA payload: a line starting with "." gets another one (RFC 5321 §4.5.2), and the
    /// terminating CRLF.CRLF follows.
    public static func dotStuffed(_ rendered: String) -> String {
        var lines = rendered.components(separatedBy: "\r\n")
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n.\r\n"
    }

    /// `Tue, 01 Dec 2026 20:31:52 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return days[(c.weekday ?? 1) - 1] + ", " + String(format: "%02d", c.day ?? 1) + " " + months[(c.month ?? 1) - 1] + " "
            + String(format: "%04d %02d:%02d:%02d", c.year ?? 1970, c.hour ?? 0, c.minute ?? 0, c.second ?? 0) + " +0000"
    }
}
