import NIOCore
import NIOPosix

/// Makes NIO's event loops the executor of every Swift task in the process.
///
/// Why: by default a request's handler runs on the concurrency pool while its HTTP and
/// PostgreSQL sockets live on event loop threads, so each await on I/O is two thread switches.
/// With the loops as the executor a handler runs where its sockets are. Blocking work must then
/// stay off tasks: argon2 runs on `NIOThreadPool` (see `PasswordHasher`).
public enum EventLoopExecutor {
    /// Installs the event loops as the global executor, once per process, before other tasks
    /// start; false when this platform or runtime does not allow it (the default executor stays).
    public static func install() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
