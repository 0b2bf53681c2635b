import Foundation
import Logging

/// Every service of the application, built once from the configuration and shared by the
/// HTTP layer, the command line and the tests.
public struct AppServices: Sendable {
    public let config: AppConfig
    public let db: Database
    public let clock: any WallClock
    public let hasher: PasswordHasher
    public let policy: PasswordPolicy
    public let directory: TenantDirectory
    public let provisioner: TenantProvisioner
    public let tenants: TenantService
    public let identity: TenantIdentity
    public let operators: OperatorIdentity
    public let spares: SpareSchemaKeeper
    public let access: AccessService
    public let departments: DepartmentService
    public let roles: RoleService
    public let userAdmin: UserAdminService
    public let ownership: OwnershipService
    public let metadata: MetadataService
    public let records: RecordService
    public let fields: FieldAdminService
    public let layouts = LayoutService()
    public let sessions = SessionCache()
    /// Substring searches each tenant may run at once (they wait for one another, not for others).
    public let searches: TenantGate
    /// The time each tenant's substring searches may take (their share of the database's CPU).
    public let searchTime: TenantTimeBudget
    public let oneTrip: OneTripRead
    public let modules: ModuleService
    /// The modules this server runs (`ModuleRegistry.standard`; tests may add their own).
    public let registry: ModuleRegistry
    /// Background jobs: the queue, the schedules, and the runner `crm serve` runs. Modules register
    /// their handlers on `jobRunner`.
    public let jobs: JobQueue
    public let jobSchedules: JobScheduler
    public let jobRunner: JobRunner
    /// Hands committed record change events to the modules' consumers and the webhooks
    /// (`crm serve` wakes it).
    public let events: ChangeEventDispatcher
    /// Tenant webhooks: endpoints, fan-out, delivery (its handler is registered on `jobRunner`).
    /// A `var` so that tests can give theirs a job kind of their own.
    public var webhooks: Webhooks
    /// The payment service provider: a scripted test provider until a real one is wired (see Billing/PaymentProvider.swift).
    public let paymentProvider: any PaymentProvider
    /// Operators' billing: runs, invoices, payments, credit notes.
    public let billing: BillingService
    /// The tenant admin's subscription changes.
    public let subscriptions: SubscriptionService
    /// The dunning tick (a scheduled job every 15 minutes).
    public let dunning: DunningTick
    /// Usage metering (in memory, flushed once a minute) and plan limits.
    public let usage: UsageServices
    public var fieldPurger: FieldPurger { FieldPurger(db: db, tenants: tenants, fields: fields) }

    public init(config: AppConfig, db: Database, clock: any WallClock = SystemWallClock(), registry: ModuleRegistry = .standard) {
        self.config = config
        self.registry = registry
        self.db = db
        self.clock = clock
        let hasher = PasswordHasher(parameters: config.identity.argon2, concurrency: config.identity.hashConcurrency,
                                    waiting: config.identity.hashQueue)
        let policy = PasswordPolicy(minLength: config.identity.passwordMinLength)
        self.hasher = hasher
        self.policy = policy
        self.searches = TenantGate(limits: config.database.searchLimits)
        self.searchTime = TenantTimeBudget(limits: config.database.searchTime)
        self.directory = TenantDirectory(db: db)
        let provisioner = TenantProvisioner(db: db, clock: clock)
        self.provisioner = provisioner
        let spares = SpareSchemaKeeper(provisioner: provisioner, target: config.spareSchemas, logger: db.logger)
        self.spares = spares
        self.tenants = TenantService(db: db, provisioner: provisioner, hasher: hasher, policy: policy, directory: directory,
                                     clock: clock, onSpareUsed: { spares.refill() })
        self.identity = TenantIdentity(db: db, hasher: hasher, policy: policy, config: config.identity, clock: clock)
        self.operators = OperatorIdentity(db: db, hasher: hasher, policy: policy, config: config.identity, clock: clock)
        self.access = AccessService()
        self.departments = DepartmentService(clock: clock)
        self.roles = RoleService(clock: clock)
        let hooks = registry.hooks(ModuleContext(clock: clock))
        self.ownership = OwnershipService(tables: registry.ownedTables.compactMapValues { try? SQLIdentifier($0) }, clock: clock, hooks: hooks)
        self.metadata = MetadataService()
        self.records = RecordService(clock: clock, hooks: hooks, constraints: registry.constraintErrors)
        self.fields = FieldAdminService(ownerRole: db.ownerRole, clock: clock)
        self.oneTrip = OneTripRead(db: db, sessions: sessions, access: access, metadata: metadata, config: config.identity, clock: clock)
        self.modules = ModuleService(registry: registry, ownerRole: db.ownerRole, clock: clock)
        self.userAdmin = UserAdminService(identity: identity, ownership: ownership)
        self.jobs = JobQueue(db: db, clock: clock)
        self.jobSchedules = JobScheduler(db: db, clock: clock)
        self.jobRunner = JobRunner(queue: jobs, scheduler: jobSchedules)
        let paymentProvider = TestPaymentProvider()
        self.paymentProvider = paymentProvider
        let collector = PaymentCollector(db: db, provider: paymentProvider, clock: clock)
        self.billing = BillingService(db: db, clock: clock, collector: collector)
        self.subscriptions = SubscriptionService(db: db, clock: clock, collector: collector)
        self.dunning = DunningTick(db: db, clock: clock, collector: collector)
        self.events = ChangeEventDispatcher(consumers: registry.eventConsumers + [WebhookEventConsumer()], lanes: config.eventLanes)
        self.webhooks = Webhooks(jobs: jobs, clock: clock, policy: WebhookURLPolicy(allowPrivate: config.webhookAllowPrivate))
        let runner = jobRunner
        self.usage = UsageServices(db: db, clock: clock, instanceId: config.instanceId,
                                   enforce: config.enforcePlanLimits, jobKinds: { runner.registeredKinds })
        webhooks.register(on: jobRunner)
        ModuleJobs.register(on: jobRunner, services: self)
        NoticeMailJob.register(on: jobRunner, settings: config.mail)
        BillingJobs.register(on: jobRunner, dunning: dunning, billing: billing)
        BillingNoticeJob.register(on: jobRunner, jobs: jobs)
        UsageGauges.register(on: jobRunner, db: db)
    }

    public func migrator() -> MigrationRunner {
        MigrationRunner(db: db, concurrency: config.migrateConcurrency, lockTimeoutMs: config.migrateLockTimeoutMs)
    }
}
