import AgentSafeConfig
import AgentSafeCore
import Foundation
import Testing

/// What to put at one path of a temporary project.
enum FileContent: Sendable {
    /// The file's whole text.
    case text(String)
    /// Raw bytes (invalid UTF-8, huge files).
    case bytes(Data)
    /// The baseline file with `old` replaced by `new`; `old` must occur exactly once.
    case patch(String, String)
    /// Leave the baseline file out.
    case remove
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// A small valid project: two actions, one policy file, an inventory. Every malformed case breaks one thing of it,
/// so the line numbers written next to each file are the ones the cases point at.
enum Baseline {
    static let restart = """
        name: restart-deployment
        version: "1.0.0"
        description: Restart a deployment
        risk_class: medium
        target_types:
          - k8s-deployment
        parameters:
          - name: namespace
            type: string
          - name: deployment
            type: string

        """

    // Line numbers: 1 name, 2 version, 3 description, 4 risk_class, 5-6 target_types, 7 parameters,
    // 8-9 namespace, 10-14 replicas (13 min_value, 14 max_value), 15-19 image (19 pattern), 20 reversible,
    // 21 rollback_action, 22-24 rollback_params, 25-29 credentials (27 fields), 30-35 risk_modifiers.
    static let scale = """
        name: scale-deployment
        version: "1.0.0"
        description: Scale a deployment
        risk_class: medium
        target_types:
          - k8s-deployment
        parameters:
          - name: namespace
            type: string
          - name: replicas
            type: integer
            constraints:
              min_value: 0
              max_value: 100
          - name: image
            type: string
            required: false
            constraints:
              pattern: "^[a-z]+$"
        reversible: true
        rollback_action: restart-deployment
        rollback_params:
          namespace:
            source: params.namespace
        credentials:
          type: kubernetes
          fields:
            verbs: [get, patch]
          ttl: 300
        risk_modifiers:
          - when:
              replicas:
                equals: 0
            raise: 1
            reason: scale to zero

        """

    // Lines: 2-8 allow-dev (3 priority, 6 environments, 7 decision, 8 reason), 9-20 approve-prod
    // (14-18 time window: 15 days, 16 start_hour, 17 end_hour, 18 timezone).
    static let policy = """
        rules:
          - name: allow-dev
            priority: 10
            match:
              targets:
                environments: [dev]
            decision: allow
            reason: dev is open
          - name: approve-prod
            priority: 500
            match:
              targets:
                environments: [prod]
              time_windows:
                - days: [0, 1, 2, 3, 4, 5, 6]
                  start_hour: 0
                  end_hour: 23
                  timezone: Europe/Berlin
            decision: require_approval
            reason: prod needs approval

        """

    // Lines: 2-8 dev/app (4 environment, 5 sensitivity, 8 label app), 9-12 prod/app.
    static let inventory = """
        targets:
          - id: dev/app
            type: k8s-deployment
            environment: dev
            sensitivity: public
            owner: dev-team
            labels:
              app: demo
          - id: prod/app
            type: k8s-deployment
            environment: prod
            sensitivity: critical

        """

    static let files: [String: String] = [
        "actions/restart-deployment.yaml": restart,
        "actions/scale-deployment.yaml": scale,
        "policies/10-base.yaml": policy,
        "inventory.yaml": inventory,
    ]
}

/// A fresh directory under the system temp directory, removed when the body returns.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("agent-safe-config-tests-\(UUID().uuidString)", isDirectory: true)
        .standardizedFileURL
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir)
}

enum Project {
    /// Writes `files` (relative paths) under `root`, on top of ``Baseline`` unless `baseline` is false.
    static func write(_ files: [String: FileContent], into root: URL, baseline: Bool = true) throws {
        var final: [String: FileContent] = [:]
        if baseline {
            for (path, text) in Baseline.files { final[path] = .text(text) }
        }
        for (path, content) in files {
            switch content {
            case .patch(let old, let new):
                guard let base = Baseline.files[path] else { throw FixtureError(description: "no baseline file \(path)") }
                let parts = base.components(separatedBy: old)
                guard parts.count == 2 else {
                    throw FixtureError(description: "'\(old)' occurs \(parts.count - 1) times in \(path), not once")
                }
                final[path] = .text(parts.joined(separator: new))
            default:
                final[path] = content
            }
        }
        for (path, content) in final {
            let url = root.appendingPathComponent(path)
            let data: Data
            switch content {
            case .text(let s): data = Data(s.utf8)
            case .bytes(let d): data = d
            case .remove, .patch: continue
            }
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
    }

    /// Loads the project at `root` as the CLI would from that directory, with `root/agent-safe.yaml` as the config
    /// when it exists (never searching the parents of the temp directory).
    static func load(_ root: URL, registry: String? = nil, policies: String? = nil, inventory: String? = nil)
        -> Result<Snapshot, ConfigLoadError>
    {
        let config = root.appendingPathComponent("agent-safe.yaml")
        let options = LoadOptions(
            configPath: FileManager.default.fileExists(atPath: config.path) ? config.path : nil,
            registry: registry, policies: policies, inventory: inventory, workingDirectory: root.path,
            discoverConfig: false)
        return Result { () throws(ConfigLoadError) -> Snapshot in try CatalogueLoader.load(options) }
    }

    /// Writes and loads; the snapshot, or the load error (whose description lists every diagnostic).
    static func loadValid(_ files: [String: FileContent] = [:], baseline: Bool = true) throws -> Snapshot {
        try withTemporaryDirectory { root in
            try write(files, into: root, baseline: baseline)
            return try load(root).get()
        }
    }
}

/// A request at a fixed instant, with an audit id that doesn't matter.
func request(_ action: String, target: String? = nil, caller: Caller? = nil, params: [String: JSONValue] = [:],
             ticket: String? = nil, at instant: Instant = fixedInstant) -> DecisionRequest
{
    DecisionRequest(action: action, target: target, caller: caller, params: params, ticketID: ticket,
                    instant: instant, auditID: "evt-test")
}

/// Monday 2026-03-02 10:00:00 UTC: tests never read the clock.
let fixedInstant = Instant(secondsSinceEpoch: 1_772_445_600)

/// Parses an ISO 8601 instant, failing the test when it doesn't parse.
func instant(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Instant {
    try #require(Timestamps.parse(text), "bad instant \(text)", sourceLocation: sourceLocation)
}

extension ConfigLoadError {
    var summary: String { diagnostics.map(\.description).joined(separator: "\n") }
}
