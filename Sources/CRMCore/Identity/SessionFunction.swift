import Foundation
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// `crm_session_v1(token hash, statement timeout)`, generated into each tenant's schema beside the
/// read functions: the first statement of an authenticated request's transaction. It switches the
/// transaction to the tenant's role and schema and returns the token's row (`UserStore.tokenSelect`),
/// so entering the tenant and checking the token take one round trip, not two, and PostgreSQL
/// keeps the token query's plan for the connection instead of planning it on every request.
///
/// Isolation is the read functions': `SECURITY INVOKER`, the role switched first, the app role
/// granted `EXECUTE` and never a table. When the function is missing or refused, the request
/// takes the two statements it replaces (`Database.transaction(for:)` and `UserStore.token`).
public enum SessionFunction {
    /// Versioned: a change to `UserStore.tokenSelect` or to the switch bumps it, so a tenant whose
    /// function is older has none by this name, and its requests go the ordinary way until rebuilt.
    static let name = "crm_session_v1"

    static func ddl(_ tenant: TenantSchema) -> String {
        let s = tenant.schema.quoted
        // The OUT columns are prefixed so none shadows a column of the query; every name in the
        // query is qualified by an alias besides.
        return """
            CREATE OR REPLACE FUNCTION \(s).\(name)(p_token bytea, p_timeout text)
            RETURNS TABLE(o_token uuid, o_kind text, o_read_only boolean, o_last_used timestamptz, o_expires timestamptz,
                          o_user uuid, o_email text, o_name text, o_active boolean, o_admin boolean, o_department uuid,
                          o_created timestamptz, o_av int8, o_mv int8)
            LANGUAGE plpgsql SECURITY INVOKER AS $fn$
            BEGIN
                PERFORM set_config('role', \(tenant.role.literal), true), set_config('search_path', \(tenant.schema.literal), true);
                IF p_timeout IS NOT NULL THEN PERFORM set_config('statement_timeout', p_timeout, true); END IF;
                RETURN QUERY \(UserStore.tokenSelect)
                WHERE \(TokenCheck.sql(alias: "t", hash: "p_token"));
            END $fn$;
            REVOKE ALL ON FUNCTION \(s).\(name)(bytea, text) FROM PUBLIC;
            GRANT EXECUTE ON FUNCTION \(s).\(name)(bytea, text) TO SESSION_USER;
            """
    }

    /// The function could not be called (not generated yet, refused): take the ordinary two statements.
    public struct Unavailable: Error {}

    /// Enters `tenant` in `tx` and finds the token with `hash`; the first statement of `tx`.
    static func open(_ tenant: TenantSchema, hash: ByteBuffer, timeoutMillis: String?, in tx: Transaction) async throws -> UserStore.TokenFound? {
        do {
            return try await UserStore.tokenRow(try await tx.query(
                "SELECT * FROM \(unescaped: tenant.schema.quoted).\(unescaped: name)(\(hash), \(timeoutMillis))"))
        } catch let error as PSQLError where error.sqlState.map(Self.meansMissing) ?? false {
            throw Unavailable()
        }
    }

    /// Undefined function, schema, table or column, a result that no longer matches, privilege:
    /// the function is missing, stale or refused. Anything else (a timeout, a lost connection,
    /// overload) is the request's own error and is not answered by running it again another way.
    static func meansMissing(_ sqlState: String) -> Bool {
        ["42883", "3F000", "42P01", "42703", "42804", "42501"].contains(sqlState)
    }

    /// Tenants whose function failed lately: for a minute their requests go the ordinary way
    /// rather than failing a statement first every time.
    public static let failing = Failing()

    public final class Failing: Sendable {
        private let until = NIOLockedValueBox<[UUID: ContinuousClock.Instant]>([:])

        public func isFailing(_ tenant: UUID) -> Bool {
            guard let instant = until.withLockedValue({ $0[tenant] }) else { return false }
            if instant > .now { return true }
            until.withLockedValue { _ = $0.removeValue(forKey: tenant) }
            return false
        }

        public func failed(_ tenant: UUID) {
            until.withLockedValue {
                // Bounded: forgetting early only means one more failed statement.
                if $0.count > 10_000 { $0.removeAll() }
                $0[tenant] = .now + .seconds(60)
            }
        }
    }
}
