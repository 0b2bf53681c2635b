/// The workflow module: rules that act on record changes (set fields, assign, create tasks,
/// notify), published as versions, with a run log, dry runs and retries. Enterprise plan.
public struct WorkflowModule: CRMModule {
    public init() {}

    public static let id = "workflow"

    /// The files in migrations/<id>/ next to this file.
    public static let migrations = MigrationScope.bundled(id)
}
