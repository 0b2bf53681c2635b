import ArgumentParser
import CRMCore

/// `crm dev`: tools for developing modules; nothing here touches a database.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev", abstract: "Tools for module developers.", subcommands: [ObjectSQL.self, MetricsCardinalityCommand.self])

    /// Prints the first migration of a declared standard object, to start a module's `.sql` file.
    struct ObjectSQL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "object-sql",
            abstract: "Print the SQL of a standard object's first migration (table, indexes, metadata rows) from its declaration.")

        @Argument(help: "The object's api name (customer, lead, task, …).")
        var object: String

        func run() async throws {
            do {
                print(try ModuleRegistry.standard.objectSQL(object), terminator: "")
            } catch let error as CRMError {
                throw ValidationError(error.detail)
            }
        }
    }
}
