import Foundation
import Testing

/// Reviewed text kept under Tests/CRMTests/Snapshots/: a test compares what the code generates
/// with the file, so a change shows up in review as a diff. `CRM_UPDATE_SNAPSHOTS=1` rewrites
/// the files (and removes those nothing generates any more) instead of failing.
enum Snapshot {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Snapshots")

    static var updating: Bool { ProcessInfo.processInfo.environment["CRM_UPDATE_SNAPSHOTS"] == "1" }

    /// Checks a whole folder: one file per entry of `files` (name → text), and no other file.
    static func check(folder: String, _ files: [String: String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = root.appendingPathComponent(folder)
        let fm = FileManager.default
        let present = Set((try? fm.contentsOfDirectory(atPath: dir.path)) ?? [])
        if updating { try fm.createDirectory(at: dir, withIntermediateDirectories: true) }
        for (name, text) in files.sorted(by: { $0.key < $1.key }) {
            let url = dir.appendingPathComponent(name)
            let body = text.hasSuffix("\n") ? text : text + "\n"
            let stored = try? String(contentsOf: url, encoding: .utf8)
            guard stored != body else { continue }
            if updating {
                try Data(body.utf8).write(to: url)
            } else if let stored {
                let difference = firstDifference(stored, body)
                Issue.record("\(folder)/\(name) differs from the generated text: \(difference). Review the change and run with CRM_UPDATE_SNAPSHOTS=1 to accept it.",
                             sourceLocation: sourceLocation)
            } else {
                Issue.record("\(folder)/\(name) is missing; run with CRM_UPDATE_SNAPSHOTS=1 to write it.", sourceLocation: sourceLocation)
            }
        }
        for stale in present.subtracting(files.keys).sorted() {
            if updating {
                try fm.removeItem(at: dir.appendingPathComponent(stale))
            } else {
                Issue.record("\(folder)/\(stale) is no longer generated; run with CRM_UPDATE_SNAPSHOTS=1 to remove it.",
                             sourceLocation: sourceLocation)
            }
        }
    }

    /// "line N: expected …, got …" for the first line that differs.
    static func firstDifference(_ stored: String, _ generated: String) -> String {
        let a = stored.split(separator: "\n", omittingEmptySubsequences: false)
        let b = generated.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? String(a[i]) : "(end of file)", y = i < b.count ? String(b[i]) : "(end of text)"
            if x != y { return "line \(i + 1): file has '\(x.prefix(160))', generated '\(y.prefix(160))'" }
        }
        return "same lines"
    }
}
