import AgentSafeConfig
import AgentSafeShipping
import Foundation
import Logging
import ServiceLifecycle

/// Maps `audit.shippers` of agent-safe.yaml to the shipping library and builds the runner.
public enum ShippingSetup {
    public static func config(_ project: ProjectConfig, auditPath: String) -> AuditShippingConfig? {
        guard let a = project.audit, !a.shippers.isEmpty else { return nil }
        let specs = a.shippers.map { s -> ShipperSpec in
            let destination: ShipperSpec.Destination
            switch s.type {
            case "file":
                destination = .file(FileShipperSpec(path: s.path ?? ""))
            case "webhook":
                destination = .webhook(WebhookShipperSpec(
                    url: s.url ?? "", secretFile: s.secretFile,
                    format: s.format.flatMap(WebhookShipperSpec.Format.init(rawValue:)) ?? .ndjson,
                    timeoutSeconds: s.timeoutSeconds ?? 10, headers: s.headers, splunkTokenFile: s.splunkTokenFile))
            default:
                destination = .s3(S3ShipperSpec(
                    bucket: s.bucket ?? "", prefix: s.prefix ?? "", region: s.region ?? "us-east-1", endpoint: s.endpoint,
                    sse: s.sse.flatMap(S3ShipperSpec.ServerSideEncryption.init(rawValue:)), kmsKeyId: s.kmsKeyID,
                    credentialsFile: s.credentialsFile, profile: s.profile))
            }
            return ShipperSpec(name: s.name, destination: destination)
        }
        return AuditShippingConfig(
            path: auditPath, shippers: specs,
            batch: BatchSpec(maxEvents: a.batchMaxEvents, maxBytes: a.batchMaxBytes, lingerMs: a.batchLingerMs),
            retry: RetrySpec(baseMs: a.retryBaseMs, maxMs: a.retryMaxMs))
    }

    /// The runner for the configured shippers (`nil` when there are none), with its durable cursors in
    /// `<state dir>/shippers.sqlite`. Secret, token and credential files are read now.
    public static func runner(_ project: ProjectConfig, auditPath: String, logger: Logger) throws -> ShipperRunner? {
        guard let config = config(project, auditPath: auditPath) else { return nil }
        let store = try SQLiteShipperCursorStore(stateDirectory: project.stateDirectory)
        let base = project.path.map { ($0 as NSString).deletingLastPathComponent }
        do {
            return try AuditShipperFactory.makeRunner(config, cursorStore: store, baseDirectory: base,
                                                      environment: ProcessInfo.processInfo.environment, logger: logger)
        } catch {
            throw SidecarStartError(messages: ["audit.shippers: \(error)"])
        }
    }
}

/// Runs the shippers off the request path; on shutdown ships what was written (bounded) and stops.
struct ShippingService: Service {
    let runner: ShipperRunner
    let flushTimeout: Duration

    func run() async throws {
        await withGracefulShutdownHandler {
            await runner.run()
        } onGracefulShutdown: {
            _ = runner.beginFlush(timeout: flushTimeout)
        }
    }
}
