import CRMCore
import Hummingbird

/// `/healthz`: the process answers. `/readyz`: the database answers too (503 at once while the
/// database is known to be down; otherwise a `SELECT 1` through the pool within 5 s).
enum HealthRoutes {
    static func register(on router: Router<AppRequestContext>, db: Database) {
        router.get("healthz") { _, _ in try JSONOut.response(["status": "ok"]) }
        router.get("readyz") { _, _ -> Response in
            do {
                try db.health.checkAvailable()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await db.platformTransaction { tx in try await tx.execute("SELECT 1") } }
                    group.addTask {
                        try await Task.sleep(for: .seconds(5))
                        throw CRMError(.unavailable, "timed out")
                    }
                    try await group.next()
                    group.cancelAll()
                }
                return try JSONOut.response(["status": "ready"])
            } catch {
                throw CRMError(.unavailable, "The database is not reachable.")
            }
        }
    }
}
