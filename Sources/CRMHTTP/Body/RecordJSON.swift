import CRMCore
import Foundation

/// A record as the API answers it: the fields PostgreSQL rendered, then what hooks added beside
/// them (a lead's `duplicate_warnings`), as members of the same object.
enum RecordJSON {
    static func render(_ record: RecordService.Fetched) -> String {
        guard !record.annotations.isEmpty else { return record.json }
        // The record is always a JSON object rendered by PostgreSQL; its members are kept as text.
        var fields = Substring(record.json.trimmingCharacters(in: .whitespaces))
        guard fields.first == "{", fields.last == "}" else { return record.json }
        fields = fields.dropFirst().dropLast()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        var members = fields.trimmingCharacters(in: .whitespaces).isEmpty ? [] : [String(fields)]
        for key in record.annotations.keys.sorted() {
            guard let name = try? encoder.encode(key), let value = try? encoder.encode(record.annotations[key]!) else { continue }
            members.append(String(decoding: name, as: UTF8.self) + ": " + String(decoding: value, as: UTF8.self))
        }
        return "{" + members.joined(separator: ", ") + "}"
    }
}
