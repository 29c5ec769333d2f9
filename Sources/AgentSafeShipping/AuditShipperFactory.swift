import AsyncHTTPClient
import Logging

/// Builds shippers and runners from the configuration structs.
public enum AuditShipperFactory {
    /// The shipper `spec` describes. Reads secret, token and credentials files now, so problems surface at
    /// start-up.
    /// - Parameters:
    ///   - baseDirectory: Relative paths in `spec` are resolved against it (the configuration file's directory).
    ///   - environment: Where `AWS_*` variables are read.
    public static func makeShipper(
        _ spec: ShipperSpec, baseDirectory: String? = nil, httpClient: HTTPClient = ShippingHTTPClient.shared,
        environment: [String: String], logger: Logger = Logger(label: "agent-safe.shipping")
    ) throws(ShippingError) -> any AuditShipper {
        switch spec.destination {
        case .file(let file):
            var file = file
            file.path = PathText.resolve(file.path, relativeTo: baseDirectory)
            return FileShipper(name: spec.name, spec: file, logger: logger)
        case .webhook(let webhook):
            return try WebhookShipper(
                name: spec.name, spec: webhook, baseDirectory: baseDirectory, httpClient: httpClient, logger: logger)
        case .s3(let s3):
            return try S3Shipper(
                name: spec.name, spec: s3, environment: environment, baseDirectory: baseDirectory,
                httpClient: httpClient, logger: logger)
        }
    }

    /// A runner for every shipper of `config`, after validating it.
    /// - Throws: ``ShippingError`` `invalidConfiguration` listing every problem, or a shipper's error.
    public static func makeRunner(
        _ config: AuditShippingConfig, cursorStore: any ShipperCursorStore, baseDirectory: String? = nil,
        httpClient: HTTPClient = ShippingHTTPClient.shared, environment: [String: String],
        options: ShipperRunner.Options = ShipperRunner.Options(), logger: Logger = Logger(label: "agent-safe.shipping")
    ) throws(ShippingError) -> ShipperRunner {
        let issues = config.validationIssues()
        guard issues.isEmpty else {
            throw ShippingError(.invalidConfiguration, issues.map(\.description).joined(separator: "; "))
        }
        var members: [ShipperRunner.Member] = []
        for spec in config.shippers {
            let shipper = try makeShipper(
                spec, baseDirectory: baseDirectory, httpClient: httpClient, environment: environment, logger: logger)
            members.append(
                ShipperRunner.Member(shipper: shipper, batch: spec.batch ?? config.batch, retry: spec.retry ?? config.retry))
        }
        return ShipperRunner(
            logPath: PathText.resolve(config.path, relativeTo: baseDirectory), members: members,
            cursorStore: cursorStore, options: options, logger: logger)
    }
}
