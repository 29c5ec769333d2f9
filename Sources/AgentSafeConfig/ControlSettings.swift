import AgentSafeCore
import Foundation

/// `approvals:` (docs/approvals.md): how long a request waits, who may resolve it, who is told.
public struct ApprovalsConfig: Sendable, Hashable {
    /// Seconds a pending request waits before it resolves as `expired` (upstream's default: one hour).
    public var ttlSeconds = 3600
    /// Seconds after approval during which the requester may fetch the ticket (then `fetch_window_passed`; the
    /// request stays `approved`).
    public var fetchWindowSeconds = 3600
    /// Pending requests one caller may have at once; beyond it a request that needs approval is denied
    /// (`approvals_pending_limit`). The same request asked again reuses its pending request and counts once.
    public var maxPendingPerCaller = 100
    /// Days resolved requests are kept in the store before they are deleted (the audit log keeps their history).
    public var retentionDays = 30
    /// Named human approvers, each with a bearer token in a file the agent can't read.
    public var approvers: [Approver] = []
    public var notifiers: [Notifier] = []

    public struct Approver: Sendable, Hashable {
        public var name: String
        public var tokenFile: String
        public var line: Int
    }

    public struct Notifier: Sendable, Hashable {
        public var name: String
        /// `webhook` (generic JSON) or `slack` (Slack incoming-webhook payload).
        public var type: String
        public var url: String
        public var headers: [String: String] = [:]
        public var channel: String?
        public var timeoutSeconds = 10.0
        public var maxAttempts = 5
        public var line: Int
    }

    public init() {}
}

/// `dlp:` (docs/dlp.md): secret detectors over request params.
public struct DLPConfig: Sendable, Hashable {
    /// What a finding does: `deny`, `require_approval` or `redact`.
    public var action = "deny"
    /// Detector names (default: all of ``detectorNames``).
    public var detectors: [String] = DLPConfig.detectorNames
    public var entropyThreshold = 4.0
    public var entropyMinLength = 24
    public var allowlist: [String] = []
    /// Per-detector actions overriding ``action``.
    public var overrides: [String: String] = [:]
    /// `dlp: {enabled: false}` turns scanning off.
    public var enabled = true

    /// The detectors AgentSafeControl's scanner implements (a test keeps the two lists equal).
    public static let detectorNames = [
        "aws_access_key", "private_key", "jwt", "github_token", "slack_token", "credential_url", "connection_string",
        "high_entropy",
    ]
    public static let actions = ["deny", "require_approval", "redact"]

    public init() {}
}

/// `change_tickets:`: the shape a change-ticket id (`ticket_id`) must have.
public struct ChangeTicketsConfig: Sendable, Hashable {
    /// A request whose `ticket_id` doesn't match is denied (`invalid_change_ticket`).
    public var pattern: SafeRegex?
    public init() {}
}

extension ProjectConfig {
    mutating func decodeApprovals(_ node: YAMLNode, ctx: DecodeContext) {
        guard let f = ctx.mapping(node, "approvals", allowed: ["ttl_seconds", "fetch_window_seconds", "max_pending_per_caller",
                                                               "retention_days", "approvers", "notifiers"])
        else { return }
        var a = ApprovalsConfig()
        for (key, kp) in [("ttl_seconds", \ApprovalsConfig.ttlSeconds), ("fetch_window_seconds", \.fetchWindowSeconds)] {
            guard let n = f.present(key), let v = ctx.int(n, f.path(key)) else { continue }
            if (1...7 * 86_400).contains(v) { a[keyPath: kp] = v } else {
                ctx.report(.invalidValue, n, f.path(key), "must be 1 … 604800 seconds (7 days), got \(v)")
            }
        }
        if let n = f.present("max_pending_per_caller"), let v = ctx.int(n, f.path("max_pending_per_caller")) {
            if (1...100_000).contains(v) { a.maxPendingPerCaller = v } else {
                ctx.report(.invalidValue, n, f.path("max_pending_per_caller"), "must be 1 … 100000, got \(v)")
            }
        }
        if let n = f.present("retention_days"), let v = ctx.int(n, f.path("retention_days")) {
            if (1...3650).contains(v) { a.retentionDays = v } else {
                ctx.report(.invalidValue, n, f.path("retention_days"), "must be 1 … 3650, got \(v)")
            }
        }
        if let n = f.present("approvers"), let items = ctx.sequence(n, f.path("approvers")) {
            var seen = Set<String>()
            for (i, item) in items.enumerated() {
                let path = "\(f.path("approvers"))[\(i)]"
                guard let af = ctx.mapping(item, path, allowed: ["name", "token_file"]) else { continue }
                let name = ctx.require(af, "name").flatMap { ctx.string($0, af.path("name")) }
                let file = ctx.require(af, "token_file").flatMap { ctx.string($0, af.path("token_file")) }
                guard let name, let file else { continue }
                if name.isEmpty || name.count > 128 || name.contains(where: { $0.isWhitespace || $0.isNewline }) {
                    ctx.report(.invalidValue, af["name"], af.path("name"), "an approver name is 1 … 128 characters without spaces")
                    continue
                }
                if !seen.insert(name).inserted {
                    ctx.report(.duplicateName, af["name"], af.path("name"), "duplicate approver '\(name)'")
                    continue
                }
                a.approvers.append(.init(name: name, tokenFile: resolve(file), line: item.line))
            }
        }
        if let n = f.present("notifiers"), let items = ctx.sequence(n, f.path("notifiers")) {
            for (i, item) in items.enumerated() {
                let path = "\(f.path("notifiers"))[\(i)]"
                let keys = ["name", "type", "url", "headers", "channel", "timeout_seconds", "max_attempts"]
                guard let nf = ctx.mapping(item, path, allowed: keys) else { continue }
                let type = ctx.require(nf, "type").flatMap { ctx.string($0, nf.path("type")) }
                let url = ctx.require(nf, "url").flatMap { ctx.string($0, nf.path("url")) }
                guard let type, let url else { continue }
                guard ["webhook", "slack"].contains(type) else {
                    ctx.report(.invalidValue, nf["type"], nf.path("type"), "'\(type)' is not one of webhook, slack")
                    continue
                }
                guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                    ctx.report(.invalidValue, nf["url"], nf.path("url"), "must be an http(s) URL")
                    continue
                }
                var notifier = Notifier(name: nf.present("name").flatMap { ctx.string($0, nf.path("name")) } ?? "\(type)-\(i)",
                                        type: type, url: url, line: item.line)
                notifier.headers = nf.present("headers").flatMap { ctx.stringMap($0, nf.path("headers")) } ?? [:]
                notifier.channel = nf.present("channel").flatMap { ctx.string($0, nf.path("channel")) }
                if let t = nf.present("timeout_seconds"), let v = ctx.double(t, nf.path("timeout_seconds")) {
                    if v > 0, v <= 60 { notifier.timeoutSeconds = v } else {
                        ctx.report(.invalidValue, t, nf.path("timeout_seconds"), "must be greater than 0 and at most 60")
                    }
                }
                if let t = nf.present("max_attempts"), let v = ctx.int(t, nf.path("max_attempts")) {
                    if (1...20).contains(v) { notifier.maxAttempts = v } else {
                        ctx.report(.invalidValue, t, nf.path("max_attempts"), "must be 1 … 20, got \(v)")
                    }
                }
                a.notifiers.append(notifier)
            }
        }
        approvals = a
    }

    typealias Notifier = ApprovalsConfig.Notifier

    mutating func decodeDLP(_ node: YAMLNode, ctx: DecodeContext) {
        let keys = ["enabled", "action", "detectors", "entropy", "allowlist", "overrides"]
        guard let f = ctx.mapping(node, "dlp", allowed: keys) else { return }
        var d = DLPConfig()
        if let n = f.present("enabled"), let v = ctx.bool(n, "dlp.enabled") { d.enabled = v }
        if let n = f.present("action"), let v = ctx.string(n, "dlp.action") {
            if DLPConfig.actions.contains(v) { d.action = v } else {
                ctx.report(.invalidValue, n, "dlp.action", "'\(v)' is not one of \(DLPConfig.actions.joined(separator: ", "))")
            }
        }
        if let n = f.present("detectors"), let names = ctx.stringList(n, "dlp.detectors") {
            for name in names where !DLPConfig.detectorNames.contains(name) {
                let hint = Suggest.closest(to: name, in: DLPConfig.detectorNames).map { " (did you mean '\($0)'?)" } ?? ""
                ctx.report(.invalidValue, n, "dlp.detectors", "unknown detector '\(name)'\(hint)")
            }
            d.detectors = names.filter(DLPConfig.detectorNames.contains)
        }
        if let n = f.present("entropy"), let ef = ctx.mapping(n, "dlp.entropy", allowed: ["threshold", "min_length"]) {
            if let t = ef.present("threshold"), let v = ctx.double(t, "dlp.entropy.threshold") {
                if v >= 2, v <= 6 { d.entropyThreshold = v } else {
                    ctx.report(.invalidValue, t, "dlp.entropy.threshold", "must be 2.0 … 6.0 bits per character, got \(v)")
                }
            }
            if let t = ef.present("min_length"), let v = ctx.int(t, "dlp.entropy.min_length") {
                if (12...4096).contains(v) { d.entropyMinLength = v } else {
                    ctx.report(.invalidValue, t, "dlp.entropy.min_length", "must be 12 … 4096, got \(v)")
                }
            }
        }
        if let n = f.present("allowlist"), let v = ctx.stringList(n, "dlp.allowlist") { d.allowlist = v }
        if let n = f.present("overrides"), let map = ctx.stringMap(n, "dlp.overrides") {
            for (name, action) in map.sorted(by: { $0.key < $1.key }) {
                guard DLPConfig.detectorNames.contains(name) else {
                    ctx.report(.invalidValue, n, "dlp.overrides.\(name)", "unknown detector '\(name)'")
                    continue
                }
                guard DLPConfig.actions.contains(action) else {
                    ctx.report(.invalidValue, n, "dlp.overrides.\(name)",
                               "'\(action)' is not one of \(DLPConfig.actions.joined(separator: ", "))")
                    continue
                }
                d.overrides[name] = action
            }
        }
        dlp = d
    }

    mutating func decodeChangeTickets(_ node: YAMLNode, ctx: DecodeContext) {
        guard let f = ctx.mapping(node, "change_tickets", allowed: ["pattern"]) else { return }
        var c = ChangeTicketsConfig()
        if let n = f.present("pattern"), let text = ctx.string(n, "change_tickets.pattern") {
            do { c.pattern = try SafeRegex(text) } catch {
                ctx.report(.invalidValue, n, "change_tickets.pattern", "invalid pattern: \(error.message)")
            }
        }
        changeTickets = c
    }
}
