import AgentSafeCore
import Foundation

/// `audit:` in agent-safe.yaml (docs/shipping.md). Upstream's top-level `audit_log` is an alias of `audit.path`.
public struct AuditConfig: Sendable, Hashable {
    public var path: String?
    public var durability = "batch"
    public var rotateBytes: Int64 = 64 << 20
    public var rotateSeconds: Int64 = 0
    public var checkpointEveryEvents = 1000
    public var checkpointEverySeconds = 60.0
    /// Signs checkpoints (ES256 PEM or an HMAC key file; `env:NAME` allowed).
    public var checkpointKey: KeySource?
    /// HMAC key for sensitive parameters (default: `<state dir>/audit-redaction.key`, created on first use).
    public var redactionKeyFile: String?
    public var shippers: [ShipperConfig] = []
    public var batchMaxEvents = 500
    public var batchMaxBytes = 1 << 20
    public var batchLingerMs = 200
    public var retryBaseMs = 200
    public var retryMaxMs = 30_000

    public init() {}
}

/// One shipper entry; which fields apply depends on `type` (file, webhook, s3).
public struct ShipperConfig: Sendable, Hashable {
    public var name: String
    public var type: String
    public var line: Int
    public var path: String?
    public var url: String?
    public var secretFile: String?
    public var format: String?
    public var timeoutSeconds: Double?
    public var headers: [String: String] = [:]
    public var splunkTokenFile: String?
    public var bucket: String?
    public var prefix: String?
    public var region: String?
    public var endpoint: String?
    public var sse: String?
    public var kmsKeyID: String?
    public var credentialsFile: String?
    public var profile: String?
}

extension ProjectConfig {
    mutating func decodeAudit(_ node: YAMLNode, ctx: DecodeContext) {
        let keys = ["path", "durability", "rotate", "checkpoint", "redaction_key_file", "shippers", "batch", "retry"]
        guard let f = ctx.mapping(node, "audit", allowed: keys) else { return }
        var a = AuditConfig()
        if let n = f.present("path"), let p = ctx.string(n, "audit.path") { a.path = p }
        if let n = f.present("durability"), let v = ctx.string(n, "audit.durability") {
            if ["always", "batch", "none"].contains(v) { a.durability = v } else {
                ctx.report(.invalidValue, n, "audit.durability", "'\(v)' is not one of always, batch, none")
            }
        }
        if let n = f.present("rotate"), let rf = ctx.mapping(n, "audit.rotate", allowed: ["max_bytes", "max_age_seconds"]) {
            if let m = rf.present("max_bytes"), let v = ctx.int(m, "audit.rotate.max_bytes") {
                if v < 0 { ctx.report(.invalidValue, m, "audit.rotate.max_bytes", "must be 0 (never) or more") } else { a.rotateBytes = Int64(v) }
            }
            if let m = rf.present("max_age_seconds"), let v = ctx.int(m, "audit.rotate.max_age_seconds") {
                if v < 0 { ctx.report(.invalidValue, m, "audit.rotate.max_age_seconds", "must be 0 (never) or more") } else { a.rotateSeconds = Int64(v) }
            }
        }
        if let n = f.present("checkpoint"),
            let cf = ctx.mapping(n, "audit.checkpoint", allowed: ["every_events", "every_seconds", "key_file"])
        {
            if let m = cf.present("every_events"), let v = ctx.int(m, "audit.checkpoint.every_events") {
                if v < 0 { ctx.report(.invalidValue, m, "audit.checkpoint.every_events", "must be 0 or more") } else { a.checkpointEveryEvents = v }
            }
            if let m = cf.present("every_seconds"), let v = ctx.double(m, "audit.checkpoint.every_seconds") {
                if v < 0 { ctx.report(.invalidValue, m, "audit.checkpoint.every_seconds", "must be 0 or more") } else { a.checkpointEverySeconds = v }
            }
            if let m = cf.present("key_file"), let v = ctx.string(m, "audit.checkpoint.key_file") {
                a.checkpointKey = KeySource(source: v.hasPrefix("env:") ? v : resolve(v), line: m.line, column: m.column,
                                            fieldPath: "audit.checkpoint.key_file")
            }
        }
        if let n = f.present("redaction_key_file"), let v = ctx.string(n, "audit.redaction_key_file") {
            a.redactionKeyFile = resolve(v)
        }
        if let n = f.present("batch"), let bf = ctx.mapping(n, "audit.batch", allowed: ["max_events", "max_bytes", "linger_ms"]) {
            if let m = bf.present("max_events"), let v = ctx.int(m, "audit.batch.max_events"), v > 0 { a.batchMaxEvents = v }
            if let m = bf.present("max_bytes"), let v = ctx.int(m, "audit.batch.max_bytes"), v > 0 { a.batchMaxBytes = v }
            if let m = bf.present("linger_ms"), let v = ctx.int(m, "audit.batch.linger_ms"), v >= 0 { a.batchLingerMs = v }
        }
        if let n = f.present("retry"), let rf = ctx.mapping(n, "audit.retry", allowed: ["base_ms", "max_ms"]) {
            if let m = rf.present("base_ms"), let v = ctx.int(m, "audit.retry.base_ms"), v > 0 { a.retryBaseMs = v }
            if let m = rf.present("max_ms"), let v = ctx.int(m, "audit.retry.max_ms"), v > 0 { a.retryMaxMs = v }
        }
        if let n = f.present("shippers"), let items = ctx.sequence(n, "audit.shippers") {
            var names: Set<String> = []
            for (i, item) in items.enumerated() {
                guard let s = shipper(item, "audit.shippers[\(i)]", ctx: ctx) else { continue }
                if !names.insert(s.name).inserted {
                    ctx.report(.duplicateName, item, "audit.shippers[\(i)].name", "duplicate shipper name '\(s.name)'")
                }
                a.shippers.append(s)
            }
        }
        audit = a
    }

    func shipper(_ node: YAMLNode, _ path: String, ctx: DecodeContext) -> ShipperConfig? {
        let common = ["name", "type"]
        let byType: [String: [String]] = [
            "file": ["path"],
            "webhook": ["url", "secret_file", "format", "timeout_seconds", "headers", "splunk_token_file"],
            "s3": ["bucket", "prefix", "region", "endpoint", "sse", "kms_key_id", "credentials_file", "profile"],
        ]
        // Read the type first so unknown keys are judged against the right list.
        var type: String?
        if case .mapping(let pairs) = node.kind, let t = pairs.first(where: { $0.key.scalarText == "type" })?.value.scalarText {
            type = t
        }
        guard let type, let specific = byType[type] else {
            if case .mapping = node.kind {
                ctx.report(.invalidValue, node, path + ".type", "shipper type must be one of file, webhook, s3")
            } else {
                ctx.report(.wrongType, node, path, "expected a mapping, got \(node.kindName)")
            }
            return nil
        }
        guard let f = ctx.mapping(node, path, allowed: common + specific),
            let nameNode = ctx.require(f, "name"), let name = ctx.string(nameNode, path + ".name")
        else { return nil }
        var s = ShipperConfig(name: name, type: type, line: node.line)
        func str(_ key: String) -> String? { f.present(key).flatMap { ctx.string($0, "\(path).\(key)") } }
        func file(_ key: String) -> String? { str(key).map { $0.hasPrefix("env:") ? $0 : resolve($0) } }
        switch type {
        case "file":
            guard let p = ctx.require(f, "path").flatMap({ ctx.string($0, path + ".path") }) else { return nil }
            s.path = resolve(p)
        case "webhook":
            guard let u = ctx.require(f, "url").flatMap({ ctx.string($0, path + ".url") }) else { return nil }
            if !(u.hasPrefix("http://") || u.hasPrefix("https://")) {
                ctx.report(.invalidValue, f["url"]!, path + ".url", "must be an http:// or https:// URL")
            }
            s.url = u
            s.secretFile = file("secret_file")
            s.splunkTokenFile = file("splunk_token_file")
            if let fmt = str("format") {
                if ["ndjson", "json", "splunk_hec"].contains(fmt) { s.format = fmt } else {
                    ctx.report(.invalidValue, f["format"]!, path + ".format", "'\(fmt)' is not one of ndjson, json, splunk_hec")
                }
            }
            if let n = f.present("timeout_seconds"), let v = ctx.double(n, path + ".timeout_seconds") { s.timeoutSeconds = v }
            if let n = f.present("headers"), let h = ctx.stringMap(n, path + ".headers") { s.headers = h }
        default:
            guard let b = ctx.require(f, "bucket").flatMap({ ctx.string($0, path + ".bucket") }) else { return nil }
            s.bucket = b
            s.prefix = str("prefix")
            s.region = str("region")
            s.endpoint = str("endpoint")
            s.sse = str("sse")
            s.kmsKeyID = str("kms_key_id")
            s.credentialsFile = file("credentials_file")
            s.profile = str("profile")
        }
        return s
    }

    /// The audit log path: `audit.path`, else upstream's `audit_log`; resolved against the config file.
    public var auditPath: String? { (audit?.path ?? auditLog).map(resolve) }
}

/// `server:` in agent-safe.yaml (the sidecar's listener and limits).
public struct ServerConfig: Sendable, Hashable {
    public var host = "127.0.0.1"
    public var port = 8787
    public var maxBodyBytes = 64 * 1024
    /// A file holding the admin bearer token (mount it into the sidecar only).
    public var adminTokenFile: String?
    /// Refuse unknown fields in request bodies (422) instead of ignoring them.
    public var strictFields = true

    public init() {}
}

extension ProjectConfig {
    mutating func decodeServer(_ node: YAMLNode, ctx: DecodeContext) {
        let keys = ["host", "port", "max_body_bytes", "admin_token_file", "strict_fields"]
        guard let f = ctx.mapping(node, "server", allowed: keys) else { return }
        var s = ServerConfig()
        if let n = f.present("host"), let v = ctx.string(n, "server.host") { s.host = v }
        if let n = f.present("port"), let v = ctx.int(n, "server.port") {
            if (1...65_535).contains(v) { s.port = v } else { ctx.report(.invalidValue, n, "server.port", "must be 1–65535, got \(v)") }
        }
        if let n = f.present("max_body_bytes"), let v = ctx.int(n, "server.max_body_bytes") {
            if (1_024...16 << 20).contains(v) { s.maxBodyBytes = v } else {
                ctx.report(.invalidValue, n, "server.max_body_bytes", "must be between 1024 and 16777216, got \(v)")
            }
        }
        if let n = f.present("admin_token_file"), let v = ctx.string(n, "server.admin_token_file") { s.adminTokenFile = resolve(v) }
        if let n = f.present("strict_fields"), let v = ctx.bool(n, "server.strict_fields") { s.strictFields = v }
        server = s
    }
}
