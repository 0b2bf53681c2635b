/// Runs `body` to its end even when the calling task is cancelled: work a shutdown must not cut,
/// such as giving a job back, recording it done, or a billing run. (An unstructured task does not
/// inherit cancellation, and a cancelled task cannot lease a database connection.)
func uncancelled<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task { try await body() }.value
}
