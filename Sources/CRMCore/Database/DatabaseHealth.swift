import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Whether the database can be reached, so that requests get a 503 at once while it cannot,
/// instead of each waiting the whole acquire timeout in the pool's queue.
///
/// A failure that may mean the database is gone (a lease not granted in time, a connection
/// closed under a query, an administrator shutdown) starts one probe: a fresh connection of its
/// own, outside the pool, with a short connect timeout, running `SELECT 1`. While probes fail
/// the database counts as down and is probed again every `probeInterval`; the first success
/// brings it back. Probes are single-flight, so a flood of failing requests costs one probe.
public final class DatabaseHealth: Sendable {
    private struct State {
        var down = false
        var probing = false
        var downSince: ContinuousClock.Instant?
        /// When a probe last succeeded: a busy pool times leases out too, and then one probe a
        /// second is enough to tell busy from gone.
        var lastSuccess: ContinuousClock.Instant?
        /// Probes in a row that got no answer in time.
        var timeouts = 0
    }

    private let state = NIOLockedValueBox(State())
    private let connect: @Sendable () async throws -> Void
    private let probeInterval: Duration
    private let logger: Logger

    /// `connect` opens a connection, runs a trivial statement and closes it, or throws.
    public init(probeInterval: Duration = .milliseconds(250), logger: Logger, connect: @escaping @Sendable () async throws -> Void) {
        self.connect = connect
        self.probeInterval = probeInterval
        self.logger = logger
    }

    public var isDown: Bool { state.withLockedValue { $0.down } }

    /// Throws the 503 at once while the database is known to be down.
    public func checkAvailable() throws {
        if isDown { throw Self.unavailable() }
    }

    static func unavailable() -> CRMError {
        CRMError(.unavailable, "The database cannot be reached; try again shortly.", retryAfter: 1)
    }

    /// Something went wrong that may mean the database is gone: find out, once.
    public func suspect() {
        let start = state.withLockedValue { s -> Bool in
            if s.probing { return false }
            if !s.down, let last = s.lastSuccess, last.duration(to: .now) < .seconds(1) { return false }
            s.probing = true
            return true
        }
        guard start else { return }
        Task.detached { [self] in await probeUntilUp() }
    }

    private func probeUntilUp() async {
        while true {
            let ok: Bool
            do {
                try await connect()
                ok = true
            } catch is ProbeTimedOut {
                // Slow is not gone: a busy server answers late, and calling it down would turn
                // requests it could serve into 503s. A refused or broken connection is down at
                // once; a silent one (a host cut off) only after three probes in a row time out.
                let inconclusive = state.withLockedValue { s -> Bool in
                    s.timeouts += 1
                    if s.down || s.timeouts >= 3 { return false }
                    s.probing = false
                    return true
                }
                if inconclusive { return }
                ok = false
            } catch {
                ok = false
            }
            let wasDown: Bool = state.withLockedValue { s in
                let was = s.down
                if ok {
                    s.down = false
                    s.downSince = nil
                    s.probing = false
                    s.timeouts = 0
                    s.lastSuccess = .now
                } else if !s.down {
                    s.down = true
                    s.downSince = .now
                }
                return was
            }
            if ok {
                if wasDown { logger.notice("database reachable again") }
                return
            }
            if !wasDown { logger.error("database unreachable; answering 503 until it is back") }
            try? await Task.sleep(for: probeInterval)
        }
    }

    /// A probe that got no answer in time: inconclusive, unlike a refused connection.
    public struct ProbeTimedOut: Error {
        public init() {}
    }

    /// Whether `error` says the connection or the server went away (not a problem of one statement).
    public static func isConnectionFailure(_ error: Error) -> Bool {
        if let e = error as? PSQLError {
            switch e.code {
            case .connectionError, .serverClosedConnection, .uncleanShutdown, .poolClosed: return true
            default: break
            }
            if let state = e.sqlState {
                // admin_shutdown, crash_shutdown, cannot_connect_now, connection exceptions.
                return ["57P01", "57P02", "57P03"].contains(state) || state.hasPrefix("08")
            }
            return false
        }
        if let e = error as? CRMError { return e.code == .unavailable }
        return false
    }
}
