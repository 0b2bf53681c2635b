import Foundation

/// Password hashing, session lifetimes, password policy and login throttling settings.
public struct IdentityConfig: Sendable {
    public var argon2: Argon2Parameters
    /// How many hashes may run at once; the rest wait, so logins cannot starve other requests.
    public var hashConcurrency: Int
    /// How many hashes may wait in all (64 per slot when nil); past it a login gets 503 at once.
    public var hashQueue: Int?
    /// Absolute lifetime of a login session.
    public var sessionTTL: TimeInterval
    /// A session unused this long is dead.
    public var sessionIdleTimeout: TimeInterval
    public var passwordMinLength: Int
    public var throttle: ThrottlePolicy

    public static let defaults: [String: String] = [
        "CRM_ARGON2_MEMORY_KIB": "19456",
        "CRM_ARGON2_ITERATIONS": "2",
        "CRM_ARGON2_PARALLELISM": "1",
        "CRM_HASH_CONCURRENCY": String(ProcessInfo.processInfo.activeProcessorCount),
        "CRM_SESSION_TTL_MINUTES": "720",
        "CRM_SESSION_IDLE_MINUTES": "60",
        "CRM_PASSWORD_MIN_LENGTH": "10",
        "CRM_LOGIN_FREE_FAILURES": "5",
        "CRM_LOGIN_ACCOUNT_FAILURES": "20",
        "CRM_LOGIN_ADDRESS_FAILURES": "50",
        "CRM_LOGIN_MAX_DELAY_SECONDS": "900",
        "CRM_LOGIN_ADDRESS_SPACING_SECONDS": "4",
        "CRM_LOGIN_ADDRESS_QUEUE_SECONDS": "30",
        "CRM_LOGIN_KNOWN_ADDRESS_DAYS": "90",
    ]

    public init(argon2: Argon2Parameters = .owasp, hashConcurrency: Int = ProcessInfo.processInfo.activeProcessorCount,
                sessionTTL: TimeInterval = 12 * 3600, sessionIdleTimeout: TimeInterval = 3600,
                passwordMinLength: Int = 10, throttle: ThrottlePolicy = ThrottlePolicy()) {
        self.argon2 = argon2
        self.hashConcurrency = hashConcurrency
        self.sessionTTL = sessionTTL
        self.sessionIdleTimeout = sessionIdleTimeout
        self.passwordMinLength = passwordMinLength
        self.throttle = throttle
    }

    init(reader: ConfigReader) throws {
        let argon2 = Argon2Parameters(
            memoryKiB: UInt32(try reader.int("CRM_ARGON2_MEMORY_KIB", 19456...4_194_304)),
            iterations: UInt32(try reader.int("CRM_ARGON2_ITERATIONS", 2...100)),
            parallelism: UInt32(try reader.int("CRM_ARGON2_PARALLELISM", 1...64)))
        self.init(
            argon2: argon2,
            hashConcurrency: try reader.int("CRM_HASH_CONCURRENCY", 1...256),
            sessionTTL: TimeInterval(try reader.int("CRM_SESSION_TTL_MINUTES", 1...525_600) * 60),
            sessionIdleTimeout: TimeInterval(try reader.int("CRM_SESSION_IDLE_MINUTES", 1...525_600) * 60),
            passwordMinLength: try reader.int("CRM_PASSWORD_MIN_LENGTH", 8...256),
            throttle: ThrottlePolicy(
                freeFailuresPerAccountAndAddress: try reader.int("CRM_LOGIN_FREE_FAILURES", 1...100),
                freeFailuresPerAccount: try reader.int("CRM_LOGIN_ACCOUNT_FAILURES", 1...100),
                freeFailuresPerAddress: try reader.int("CRM_LOGIN_ADDRESS_FAILURES", 1...10_000),
                maxDelay: TimeInterval(try reader.int("CRM_LOGIN_MAX_DELAY_SECONDS", 1...86_400)),
                addressMaxSpacing: TimeInterval(try reader.int("CRM_LOGIN_ADDRESS_SPACING_SECONDS", 1...60)),
                addressMaxQueue: TimeInterval(try reader.int("CRM_LOGIN_ADDRESS_QUEUE_SECONDS", 1...600)),
                knownAddressRetention: TimeInterval(try reader.int("CRM_LOGIN_KNOWN_ADDRESS_DAYS", 1...3650) * 86_400)))
        if let text = reader.values["CRM_HASH_QUEUE"], !text.isEmpty { hashQueue = try reader.int("CRM_HASH_QUEUE", 1...1_000_000) }
    }
}

/// argon2id cost parameters.
public struct Argon2Parameters: Sendable, Equatable {
    public var memoryKiB: UInt32
    public var iterations: UInt32
    public var parallelism: UInt32

    public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32) {
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
    }

    /// OWASP's minimum for argon2id: m = 19 MiB, t = 2, p = 1.
    public static let owasp = Argon2Parameters(memoryKiB: 19456, iterations: 2, parallelism: 1)
}
