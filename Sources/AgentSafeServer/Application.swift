import AgentSafeAudit
import AgentSafeConfig
import AgentSafeCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// Builds the sidecar: loads the configuration (failing with every located error), opens the audit log and the
/// state store, and wires the routes. Shared by `agent-safe serve` and the tests.
public func buildApplication(configuration: SidecarConfiguration) throws -> some ApplicationProtocol {
    let metrics = SidecarMetrics()
    let sidecar = try Sidecar(configuration: configuration, metrics: metrics)
    let config = sidecar.runtime.snapshot.config
    let host = configuration.host ?? config.server.host
    let port = configuration.port ?? config.server.port
    let logger = configuration.logger
    if !Loopback.isLoopback(host) {
        guard configuration.allowRemote else {
            sidecar.audit.close()
            throw SidecarStartError(messages: ["refusing to bind \(host): the sidecar serves loopback only; pass --allow-remote to bind another address"])
        }
        logger.warning("binding a non-loopback address: anything that reaches it can ask for decisions", metadata: ["host": "\(host)"])
    }
    if sidecar.mode == .open {
        logger.warning("identity.mode is 'open': callers name themselves in the request body; use 'token' or 'bound' in production")
    }
    if let note = sidecar.runtime.keyNote { logger.notice("\(note)") }

    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: LatencyMiddleware(metrics: metrics))
    router.add(middleware: ProblemMiddleware(knownPaths: Routes.paths))
    Routes(sidecar: sidecar).register(on: router)

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "agent-safe"),
        // Stopped in reverse order: the server drains first, then the shippers flush, then the audit log closes.
        services: [AuditService(sidecar: sidecar), ControlsService(sidecar: sidecar)]
            + (sidecar.shippers.map { [ShippingService(runner: $0, flushTimeout: .seconds(10))] } ?? [])
            + [ReloadOnHangup(sidecar: sidecar)],
        logger: logger)
    app.logger = logger
    return app
}

/// Closes the audit log (final signed checkpoint) after the server has drained its requests: services stop in
/// reverse order, and Hummingbird's server is the last one added.
struct AuditService: Service {
    let sidecar: Sidecar

    func run() async throws {
        try? await gracefulShutdown()
        sidecar.audit.close()
        sidecar.logger.info("audit log closed", metadata: ["last_seq": "\(sidecar.audit.lastSequence)"])
    }
}

/// SIGHUP reloads the configuration (an invalid one is rejected; the old one keeps serving).
struct ReloadOnHangup: Service {
    let sidecar: Sidecar

    func run() async throws {
        let signals = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        signal(SIGHUP, SIG_IGN)
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        signals.setEventHandler { continuation.yield() }
        signals.resume()
        await withGracefulShutdownHandler {
            for await _ in stream {
                _ = try? await sidecar.reload(trigger: "SIGHUP")
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
        signals.cancel()
    }
}

/// Propagates `X-Request-Id` (or makes one) and puts it in the logger's metadata.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id: String
        if let given = request.headers[.requestID], !given.isEmpty, given.utf8.count <= 128 {
            id = given
        } else {
            id = EventIDShort.make()
        }
        var context = context
        context.logger[metadataKey: "request_id"] = "\(id)"
        var request = request
        if request.headers[.requestID] != id {
            // Inner middleware (problem bodies) and handlers see the id that the response will carry.
            var head = request.head
            head.headerFields[.requestID] = id
            request = Request(head: head, body: request.body)
        }
        var response = try await next(request, context)
        response.headers[.requestID] = id
        return response
    }
}

/// Records how long every request took (problems included) in the latency histogram, labelled with the route
/// template and the method. Hummingbird stores the matched template in the context's endpoint path (a shared box:
/// the router fills it in, for an unmatched request after this middleware has called `next`), so it is read once
/// the request is answered.
struct LatencyMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: SidecarMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        defer {
            metrics.recordLatency(ContinuousClock.now - start, endpointPath: context.endpointPath,
                                  method: request.method.rawValue)
        }
        return try await next(request, context)
    }
}

enum EventIDShort {
    static func make() -> String {
        var rng = SecureRandom()
        return String(rng.next(), radix: 16) + String(rng.next() & 0xFFFF_FFFF, radix: 16)
    }
}

enum Loopback {
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
