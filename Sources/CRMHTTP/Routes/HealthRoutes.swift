import CRMCore
import Hummingbird

/// `/healthz`: the process answers. `/readyz`: the database answers too.
enum HealthRoutes {
    static func register(on router: Router<AppRequestContext>, db: Database) {
        router.get("healthz") { _, _ in try JSONOut.response(["status": "ok"]) }
        router.get("readyz") { _, _ -> Response in
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await db.platformTransaction { tx in try await tx.execute("SELECT 1") } }
                    group.addTask {
                        try await Task.sleep(for: .seconds(2))
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
