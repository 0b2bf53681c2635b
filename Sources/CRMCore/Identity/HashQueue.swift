import Foundation

/// Whose turn a password hash is taken from: each tenant's logins have their own share of the
/// hash queue, the platform operators' one together, and authenticated work (provisioning, user
/// administration, the command line) one more, which only the total caps: nobody can flood it
/// without credentials.
public struct HashShare: Sendable, Hashable, CustomStringConvertible {
    public let key: String
    /// Whether the per-share cap applies.
    public var capped = true
    public static func tenant(_ id: UUID) -> HashShare { HashShare(key: "tenant:" + id.uuidString.lowercased()) }
    public static let operators = HashShare(key: "operators")
    public static let system = HashShare(key: "system", capped: false)
    public var description: String { key }
}

/// The hash slots, shared fairly. Each share waits in a queue of its own; a freed slot goes to
/// the next share in turn (round robin over the shares with someone waiting), so a tenant
/// flooding logins waits behind itself while another tenant's login waits for at most one hash
/// per busy share. A (capped) share may have `maxWaitingPerShare` waiting, everyone together
/// `maxWaiting`; past its own cap a share is refused at once. When everyone's queue is full, a
/// newcomer whose share has fewer waiting than the longest queue takes the place of that queue's
/// newest entry (which is refused), so many flooding shares cannot fill the queue against a
/// quiet one either.
actor HashQueue {
    private var permits: Int
    let maxWaitingPerShare: Int
    let maxWaiting: Int
    private var queues: [HashShare: [CheckedContinuation<Bool, Never>]] = [:]
    /// Shares with someone waiting, in the order they are served next.
    private var turn: [HashShare] = []
    private var waiting = 0

    init(permits: Int, maxWaitingPerShare: Int, maxWaiting: Int) {
        self.permits = permits
        self.maxWaitingPerShare = maxWaitingPerShare
        self.maxWaiting = max(maxWaiting, maxWaitingPerShare)
    }

    /// Waits for a slot; false, at once or when pushed out, if `share` may not wait.
    func enter(_ share: HashShare) async -> Bool {
        if permits > 0 {
            permits -= 1
            return true
        }
        let mine = queues[share]?.count ?? 0
        guard mine < (share.capped ? maxWaitingPerShare : maxWaiting) else { return false }
        if waiting >= maxWaiting {
            guard let (longest, count) = queues.max(by: { $0.value.count < $1.value.count }).map({ ($0.key, $0.value.count) }),
                  count > mine + 1
            else { return false }
            let pushedOut = queues[longest]!.removeLast()
            waiting -= 1
            if queues[longest]!.isEmpty {
                queues[longest] = nil
                turn.removeAll { $0 == longest }
            }
            pushedOut.resume(returning: false)
        }
        return await withCheckedContinuation { continuation in
            if queues[share] == nil { turn.append(share) }
            queues[share, default: []].append(continuation)
            waiting += 1
        }
    }

    /// Gives the slot to the next share in turn, or back to the pool.
    func leave() {
        guard !turn.isEmpty else {
            permits += 1
            return
        }
        let share = turn.removeFirst()
        let next = queues[share]!.removeFirst()
        waiting -= 1
        if queues[share]!.isEmpty { queues[share] = nil } else { turn.append(share) }
        next.resume(returning: true)
    }

    /// How many of `share` wait (for tests).
    func waitingCount(_ share: HashShare) -> Int { queues[share]?.count ?? 0 }
}
