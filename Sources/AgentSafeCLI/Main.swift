import ArgumentParser
import NIOCore
import NIOPosix

@main
enum Main {
    static func main() async {
        // Swift Concurrency's jobs run on the HTTP server's event-loop threads (NIO's singleton group, which
        // Hummingbird uses): a request's handler no longer hops from an event-loop thread to the global pool and
        // back, a futex wake-up and a context switch each way (docs/performance.md). It must happen on the main
        // thread before any task starts, so before the command line is parsed.
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await AgentSafeCommand.main()
    }
}
