import Logging
import NIOConcurrencyHelpers

/// Keeps `target` spare tenant schemas ready, refilling in the background after one is claimed.
/// One refill runs at a time; requests for more while it runs fold into one more pass.
public final class SpareSchemaKeeper: Sendable {
    let provisioner: TenantProvisioner
    let target: Int
    let logger: Logger
    private let state = NIOLockedValueBox<(running: Bool, again: Bool)>((false, false))

    public init(provisioner: TenantProvisioner, target: Int, logger: Logger) {
        self.provisioner = provisioner
        self.target = target
        self.logger = logger
    }

    /// Starts a refill unless one is running (then it runs once more when done).
    public func refill() {
        guard target > 0 else { return }
        let start = state.withLockedValue { s -> Bool in
            if s.running { s.again = true; return false }
            s.running = true
            return true
        }
        guard start else { return }
        Task.detached { await self.loop() }
    }

    private func loop() async {
        while true {
            do {
                let made = try await provisioner.prepareSpares(target: target)
                if made > 0 { logger.info("prepared spare tenant schemas", metadata: ["count": "\(made)"]) }
            } catch {
                logger.warning("could not prepare spare tenant schemas", metadata: ["error": "\(error)"])
            }
            let again = state.withLockedValue { s -> Bool in
                if s.again { s.again = false; return true }
                s.running = false
                return false
            }
            if !again { return }
        }
    }
}
