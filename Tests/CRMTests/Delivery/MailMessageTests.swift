import CRMCore
import Foundation
import Testing

@Suite("Mail: messages as they go over the wire, and the mail settings")
struct MailMessageTests {
    static let date = Date(timeIntervalSince1970: 1_795_585_200)

    @Test("CR and LF in any header value from data start no header; the subject and name go as UTF-8 encoded words; lines stay short")
    func headersSafe() throws {
        let message = MailMessage(from: "crm@acme.example", to: "ann@acme.example", toName: "Ann\r\nBcc: x@evil.example",
                                  subject: "Hi\r\nBcc: victim@evil.example\nX-Injected: yes", body: "text", messageId: "n1.u1@acme.example",
                                  date: Self.date)
        let rendered = message.rendered()
        let head = try #require(rendered.components(separatedBy: "\r\n\r\n").first)
        let names = head.components(separatedBy: "\r\n").filter { !$0.hasPrefix(" ") }.map { $0.prefix { $0 != ":" } }
        #expect(names == ["Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted"])
        #expect(head.contains("Subject: Hi  Bcc: victim@evil.example X-Injected: yes"))
        #expect(head.contains("Date: Wed, 25 Nov 2026 05:40:00 +0000") && head.contains("Message-ID: <n1.u1@acme.example>"))

        let chinese = MailMessage(from: "crm@acme.example", to: "wang@acme.example", toName: "王小明",
                                  subject: "任务到期：" + String(repeating: "跟进报价", count: 12), body: "x", messageId: "m@acme.example", date: Self.date)
        let lines = chinese.rendered().components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 76 }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("Subject: =?UTF-8?B?") })
        // The encoded words decode back to the subject, whole characters in each word.
        var decoded = ""
        var inSubject = false
        for line in lines {
            if line.hasPrefix("Subject: ") { inSubject = true } else if !line.hasPrefix(" ") { inSubject = false }
            guard inSubject else { continue }
            let word = line.replacingOccurrences(of: "Subject: ", with: "").trimmingCharacters(in: .whitespaces)
            let b64 = word.dropFirst("=?UTF-8?B?".count).dropLast(2)
            let text = try #require(Data(base64Encoded: String(b64)).flatMap { String(data: $0, encoding: .utf8) }, "\(word)")
            decoded += text
        }
        #expect(decoded == chinese.subject)
    }

    @Test("the body is quoted-printable within 76 characters, and DATA stuffs a leading dot")
    func bodyAndDots() {
        let body = ".starts with a dot\n" + String(repeating: "长", count: 40) + "\nend = here "
        let rendered = MailMessage(from: "a@b.example", to: "c@d.example", subject: "s", body: body, messageId: "m@b.example", date: Self.date).rendered()
        let bodyLines = rendered.components(separatedBy: "\r\n\r\n")[1].components(separatedBy: "\r\n")
        #expect(bodyLines.allSatisfy { $0.count <= 76 })
        #expect(bodyLines.first == ".starts with a dot" && bodyLines.contains("end =3D here=20"))
        let data = MailMessage.dotStuffed(rendered)
        #expect(data.contains("\r\n..starts with a dot\r\n") && data.hasSuffix("\r\n.\r\n"))
        #expect(MailMessage.dotStuffed("a\r\n.\r\n") == "a\r\n..\r\n.\r\n")
    }

    @Test("addresses from data are refused unless plain; the settings read the URL and never show the password")
    func settings() throws {
        #expect(MailMessage.isSendable("ann@acme.example"))
        for bad in ["ann@acme.example\r\nRCPT TO:<x@y>", "<ann@acme.example>", "ann", "a b@c.example", "@acme.example", "ann@", "a@b@c"] {
            #expect(!MailMessage.isSendable(bad), "\(bad)")
        }
        let s = try MailSettings.read(["CRM_SMTP_URL": "smtp://crm%40acme:p%3Ass@mail.acme.example:587", "CRM_MAIL_FROM": "crm@acme.example"])
        #expect(s.smtp?.host == "mail.acme.example" && s.smtp?.port == 587 && s.smtp?.username == "crm@acme" && s.smtp?.password == "p:ss")
        #expect(s.smtp?.security == .startTLSWhenOffered && s.domain == "acme.example")
        #expect(!(s.smtp?.description ?? "").contains("p:ss") && !(s.smtp?.description ?? "").contains("p%3Ass"))
        #expect(try MailSettings.read(["CRM_SMTP_URL": "smtps://mail.acme.example", "CRM_MAIL_FROM": "crm@acme.example"]).smtp?.port == 465)
        #expect(try MailSettings.read([:]).smtp == nil)
        for (url, from) in [("smtp://host", ""), ("http://host", "a@b.example"), ("smtp://", "a@b.example"), ("smtp://u@host", "a@b.example"),
                            ("smtp://host", "not an address")] {
            #expect(throws: ConfigError.self, "\(url) \(from)") { try MailSettings.read(["CRM_SMTP_URL": url, "CRM_MAIL_FROM": from]) }
        }
        // Through the whole configuration, as the server reads it.
        let config = try TestEnvironment.config(["CRM_SMTP_URL": "smtp://127.0.0.1:2525", "CRM_MAIL_FROM": "crm@acme.example"])
        #expect(config.mail.smtp?.port == 2525 && config.mail.from == "crm@acme.example")
    }
}
