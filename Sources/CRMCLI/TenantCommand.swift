import ArgumentParser
import CRMCore
import Foundation

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Create and manage tenants (companies).",
        subcommands: [Create.self, List.self, Show.self, Suspend.self, Resume.self, Lock.self, Unlock.self, LegalHold.self, Prepare.self, Apply.self, ExportBlueprint.self,
                      BackupCommands.Backup.self, BackupCommands.Backups.self, BackupCommands.Restore.self, BackupCommands.Export.self,
                      BackupCommands.Erase.self, BackupCommands.Purge.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Provision a tenant with its first admin; the admin's password is read from standard input.")
        @Option(help: "3-40 of a-z, 0-9 and '-', starting with a letter.") var slug: String
        @Option(help: "The company's name.") var name: String
        @Option(help: "Plan id (see `crm tenant` plans in GET /ops/v1/plans).") var plan = "starter"
        @Option(help: "The first admin's email.") var adminEmail: String
        @Option(help: "The first admin's name.") var adminName: String
        @Option(help: "IANA time zone.") var timeZone = "UTC"
        @Option(help: "Locale such as en or zh-CN.") var locale = "en"

        func run() async throws {
            let password = try readPassword(prompt: "admin password: ")
            try await withServices { services, _ in
                do {
                    let tenant = try await services.tenants.create(
                        NewTenant(slug: slug, name: name, plan: plan, admin: .init(email: adminEmail, name: adminName, password: password),
                                  timeZone: timeZone, locale: locale),
                        actor: AuditEntry(actorType: "cli", action: ""), meta: .commandLine)
                    print("created tenant \(tenant.slug) (\(tenant.id)), schema \(tenant.schemaName)")
                } catch let error as CRMError {
                    throw ValidationError(explain(error))
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants, newest first.")
        @Option(help: "At most this many.") var limit = 200
        func run() async throws {
            try await withServices { services, _ in
                for (t, seats) in try await services.tenants.list(limit: limit, after: nil) {
                    print("\(t.slug)\t\(t.status.rawValue)\t\(t.plan)\tseats=\(seats)\t\(t.createdAt)\t\(t.name)")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one tenant with its plan and usage.")
        @Argument var slug: String
        func run() async throws {
            try await withServices { services, _ in
                let (t, plan, usage) = try await services.tenants.show(slug: slug)
                print("""
                    slug:      \(t.slug)
                    id:        \(t.id)
                    name:      \(t.name)
                    status:    \(t.status.rawValue)
                    plan:      \(t.plan)\(plan.map { " (\($0.modules.joined(separator: ", ")))" } ?? "")
                    schema:    \(t.schemaName) on cell \(t.cell)
                    seats:     \(usage.seats)
                    created:   \(t.createdAt)
                    """)
            }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a tenant read-only.")
        @Argument var slug: String
        func run() async throws { try await TenantCommand.setSuspended(slug, true) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a suspended tenant writable again.")
        @Argument var slug: String
        func run() async throws { try await TenantCommand.setSuspended(slug, false) }
    }

    static func setSuspended(_ slug: String, _ suspended: Bool) async throws {
        try await withServices { services, _ in
            let t = try await services.tenants.setSuspended(slug: slug, suspended, actor: AuditEntry(actorType: "cli", action: ""),
                                                            meta: .commandLine)
            print("\(t.slug): \(t.status.rawValue)")
        }
    }

    struct Lock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lock a tenant: every request answers 423 and its jobs wait; billing status is left alone.")
        @Argument var slug: String
        @Option(help: "Why (kept in the catalog and the audit log).") var reason: String
        func run() async throws { try await TenantCommand.setLock(slug, reason: reason) }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift an operator's lock on a tenant.")
        @Argument var slug: String
        func run() async throws { try await TenantCommand.setLock(slug, reason: nil) }
    }

    struct LegalHold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "legal-hold", abstract: "Put a tenant under legal hold (never purged while on) or lift it: on or off.")
        @Argument var slug: String
        @Argument(help: "on or off.") var state: String
        func run() async throws {
            guard state == "on" || state == "off" else { throw ValidationError("say on or off") }
            try await withServices { services, _ in
                let t = try await services.tenants.setLegalHold(slug: slug, state == "on", actor: AuditEntry(actorType: "cli", action: ""),
                                                                meta: .commandLine)
                print("\(t.slug): legal hold \(state)")
            }
        }
    }

    static func setLock(_ slug: String, reason: String?) async throws {
        try await withServices { services, _ in
            let t = try await services.tenants.setAdminLock(slug: slug, reason: reason, actor: AuditEntry(actorType: "cli", action: ""),
                                                            meta: .commandLine)
            print("\(t.slug): \(t.adminLock.map { "locked (\($0.reason))" } ?? "not locked"), status \(t.status.rawValue)")
        }
    }

    struct Prepare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prepare spare tenant schemas ahead of demand, so provisioning only claims one.")
        @Option(help: "How many spares to have ready.") var count = 3
        func run() async throws {
            try await withServices { services, _ in
                let made = try await services.provisioner.prepareSpares(target: count)
                print("prepared \(made) spare schema(s); \(count) ready")
            }
        }
    }
}

struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator", abstract: "Platform operators (ops, billing, support staff).",
        subcommands: [Create.self, SetPassword.self, Deactivate.self, Activate.self])

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password", abstract: "Give an operator a new password (read from standard input); ends their sessions.")
        @Option(help: "The operator's email.") var email: String
        func run() async throws {
            let password = try readPassword(prompt: "new password: ")
            try await withServices { services, _ in
                do {
                    try await services.operators.setPassword(email: email, password: password, meta: .commandLine)
                    print("new password set for \(email); their sessions are ended")
                } catch let error as CRMError { throw ValidationError(explain(error)) }
            }
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop an operator from logging in; ends their sessions at once.")
        @Option(help: "The operator's email.") var email: String
        func run() async throws {
            try await withServices { services, _ in
                do {
                    try await services.operators.setActive(email: email, false, meta: .commandLine)
                    print("\(email) deactivated")
                } catch let error as CRMError { throw ValidationError(explain(error)) }
            }
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a deactivated operator log in again.")
        @Option(help: "The operator's email.") var email: String
        func run() async throws {
            try await withServices { services, _ in
                do {
                    try await services.operators.setActive(email: email, true, meta: .commandLine)
                    print("\(email) active")
                } catch let error as CRMError { throw ValidationError(explain(error)) }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an operator; the password is read from standard input.")
        @Option(help: "The operator's email.") var email: String
        @Option(help: "The operator's name.") var name: String = "Operator"
        @Option(help: "ops, billing or support.") var role: String = "ops"

        func run() async throws {
            guard let role = Operator.Role(rawValue: role) else { throw ValidationError("--role must be ops, billing or support") }
            let password = try readPassword(prompt: "password: ")
            try await withServices { services, _ in
                do {
                    let op = try await services.operators.create(email: email, name: name, role: role, password: password, meta: .commandLine)
                    print("created operator \(op.email) (\(op.role.rawValue))")
                } catch let error as CRMError {
                    throw ValidationError(explain(error))
                }
            }
        }
    }
}
