import Foundation

/// A time trigger: `offset` `unit`s after (negative: before) the value of a date or date-time
/// field, at a local time of day for day units, in the tenant's time zone. Business days are the
/// working days of the tenant's business calendar (`BusinessCalendar`).
///
/// `{"type": "relative_time", "field": "due_at", "offset": -3, "unit": "business_days", "at": "09:00"}`
public struct RelativeTime: Sendable, Equatable {
    public enum Unit: String, Sendable, CaseIterable { case minutes, hours, days, businessDays = "business_days" }

    public var field: String
    public var offset: Int
    public var unit: Unit
    /// Minutes after local midnight (`"09:00"` → 540); day units only.
    public var at: Int?

    static func parse(_ o: [String: JSONValue], object: ObjectDefinition, errors: inout FieldErrors) -> RelativeTime? {
        for key in o.keys where !["type", "field", "offset", "unit", "at"].contains(key) {
            errors.add("trigger.\(String(key.prefix(40)))", "unknown_field", "Not a member of a relative_time trigger.")
        }
        guard let name = o["field"]?.stringValue, let field = object.field(name), field.type == .date || field.type == .datetime else {
            errors.add("trigger.field", "invalid_value", "Name a date or date-time field of \(object.label).")
            return nil
        }
        guard case .number(let n)? = o["offset"], n == n.rounded(0), abs(n) <= 3650 else {
            errors.add("trigger.offset", "invalid_value", "A whole number from -3650 to 3650 (negative: before).")
            return nil
        }
        guard let unitText = o["unit"]?.stringValue, let unit = Unit(rawValue: unitText) else {
            errors.add("trigger.unit", "invalid_value", "One of: \(Unit.allCases.map(\.rawValue).joined(separator: ", ")).")
            return nil
        }
        var at: Int?
        if let text = o["at"]?.stringValue {
            let parts = text.split(separator: ":").compactMap { Int($0) }
            guard unit == .days || unit == .businessDays, parts.count == 2, (0..<24).contains(parts[0]), (0..<60).contains(parts[1]),
                  text.count == 5 else {
                errors.add("trigger.at", "invalid_value", "A local time HH:MM, with days or business_days.")
                return nil
            }
            at = parts[0] * 60 + parts[1]
        } else if o["at"] != nil {
            errors.add("trigger.at", "invalid_value", "A local time HH:MM, with days or business_days.")
            return nil
        }
        return RelativeTime(field: field.apiName, offset: NSDecimalNumber(decimal: n).intValue, unit: unit, at: at)
    }

    var json: [String: JSONValue] {
        var o: [String: JSONValue] = ["field": .string(field), "offset": .number(Decimal(offset)), "unit": .string(unit.rawValue)]
        if let at { o["at"] = .string(String(format: "%02d:%02d", at / 60, at % 60)) }
        return o
    }

    /// When the rule fires for a record whose field holds `value` (a date `2026-12-24` or an
    /// RFC 3339 instant); nil when it holds none.
    func due(for value: JSONValue, zone: TimeZone, calendar working: BusinessCalendar = BusinessCalendar()) -> Date? {
        guard let text = value.stringValue else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let base: Date
        if text.count == 10 {
            let parts = text.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3, let d = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])) else { return nil }
            base = d
        } else {
            guard let d = (try? Date(text, strategy: .iso8601))
                ?? (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) else { return nil }
            base = d
        }
        switch unit {
        case .minutes: return base.addingTimeInterval(Double(offset) * 60)
        case .hours: return base.addingTimeInterval(Double(offset) * 3600)
        case .days, .businessDays:
            var day = base
            if unit == .days {
                day = calendar.date(byAdding: .day, value: offset, to: base) ?? base
            } else {
                day = working.addDays(offset, to: base, in: calendar)
            }
            guard let at else { return day }
            let start = calendar.startOfDay(for: day)
            // A local time skipped by a daylight-saving jump comes as far after it.
            return calendar.date(bySettingHour: at / 60, minute: at % 60, second: 0, of: start)
                ?? start.addingTimeInterval(Double(at) * 60)
        }
    }
}
