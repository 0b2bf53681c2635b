import Foundation
import PostgresNIO

/// A module's setting as the registry sees it, whatever its type: its name in the module's
/// blueprint section (`settings.<module>.<name>`) and its value as JSON.
public protocol ModuleSetting: Sendable {
    /// The name in blueprints and the settings API (`pool_rules`).
    var name: String { get }
    /// The row of the tenant's `settings` table (`leads.pool_rules`).
    var key: String { get }
    /// The stored value as JSON; the default when none is stored.
    func loadJSON(in tx: Transaction) async throws -> JSONValue
    /// Checks and stores a JSON value (400 naming the fields that do not fit); true when it changed.
    func storeJSON(_ value: JSONValue, in tx: Transaction) async throws -> Bool
}

/// A typed setting of a tenant: one row of `settings`, with its default and its rules. Read and
/// written only through here, never by string key.
public struct Setting<Value: Codable & Sendable & Equatable>: ModuleSetting {
    public let name: String
    public let key: String
    public let defaultValue: Value
    let validate: @Sendable (Value) throws -> Void

    public init(module: String, name: String, default defaultValue: Value, validate: @escaping @Sendable (Value) throws -> Void = { _ in }) {
        self.name = name
        self.key = "\(module).\(name)"
        self.defaultValue = defaultValue
        self.validate = validate
    }

    /// The stored value; the default when none is stored or it no longer decodes.
    public func load(in tx: Transaction) async throws -> Value {
        for try await text in try await tx.query("SELECT value::text FROM settings WHERE key = \(key)").decode(String.self) {
            return (try? JSONDecoder().decode(Value.self, from: Data(text.utf8))) ?? defaultValue
        }
        return defaultValue
    }

    /// Checks and stores `value`.
    public func save(_ value: Value, in tx: Transaction) async throws {
        try validate(value)
        let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        try await tx.execute("""
            INSERT INTO settings (key, value) VALUES (\(key), \(json)::jsonb)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
            """)
    }

    public func loadJSON(in tx: Transaction) async throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(try await load(in: tx)))
    }

    public func storeJSON(_ json: JSONValue, in tx: Transaction) async throws -> Bool {
        let data = try JSONEncoder().encode(json)
        let value: Value
        do { value = try JSONDecoder().decode(Value.self, from: data) } catch let error as DecodingError { throw BodyDecoder.problem(error) }
        guard try await load(in: tx) != value else { return false }
        try await save(value, in: tx)
        return true
    }
}
