import AgentSafeAudit
import AgentSafeShipping
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import AgentSafeConfig
import AgentSafeControl
import AgentSafeCore
import AgentSafeStore
import Foundation
import Logging
import Synchronization

/// The controls that run around the policy engine (docs/risk.md, docs/rate-limits.md, docs/dlp.md,
/// docs/approvals.md). Each can only make a decision stricter.
///
/// Order for one request: the engine decides; then the change-ticket pattern, the rate limiter and circuit
/// breaker, DLP, and the cumulative-risk ledger (with chain rules) may raise the result; a policy denial feeds
/// the circuit breaker; a `require_approval` becomes a durable approval request.
final class Controls: Sendable {
    /// Per principal (``limiterAggregate``); kept across reloads (a reload must not reset a tripped breaker).
    let limiter: RateLimiter?
    let limiterAggregate: CumulativeRiskSettings.Aggregate
    let approvals: SQLiteApprovalStore
    let ledgerStore: SQLiteRiskLedgerStore
    let notifier: ApprovalNotifier
    /// Keyed fingerprints of parameter values for chain rules (the audit redaction key: no value is kept).
    let redactor: AuditRedactor
    /// Ledger entries are written to `ledger.sqlite` behind the request, in order, off the request path; the
    /// in-memory ledger already holds them, and shutdown waits for the queue (``drainLedger()``).
    let ledgerQueue = DispatchQueue(label: "agent-safe.ledger-store")
    let logger: Logger

    init(config: ProjectConfig, redactor: AuditRedactor, logger: Logger) throws {
        if let r = config.rateLimit {
            limiter = RateLimiter(policy: RateLimitPolicy(
                maxRequests: r.maxRequests, windowSeconds: r.windowSeconds, breakerThreshold: r.circuitBreakerThreshold,
                breakerWindowSeconds: r.circuitBreakerWindowSeconds, breakerCooldownSeconds: r.circuitBreakerCooldownSeconds,
                maxTrackedCallers: 100_000))
        } else {
            limiter = nil
        }
        limiterAggregate = config.rateLimit?.aggregate ?? .root
        let full = config.state.durability == "full"
        approvals = try SQLiteApprovalStore(path: config.stateDirectory + "/approvals.sqlite", durabilityFull: full)
        ledgerStore = try SQLiteRiskLedgerStore(path: config.stateDirectory + "/ledger.sqlite", durabilityFull: full)
        notifier = ApprovalNotifier(logger: logger)
        self.redactor = redactor
        self.logger = logger
    }

    /// Entries recorded but not yet handed to the store. The first one in schedules a write on `ledgerQueue`
    /// `ledgerWriteDelay` later; that write takes every entry that arrived meanwhile, so under load one transaction
    /// carries many entries (at most about 200 transactions a second, instead of one per allowed request).
    /// The in-memory ledger, which decisions read, has every entry at once; a crash can lose the last few
    /// milliseconds of entries from the store, as it could lose the ones still queued before.
    private let pendingLedger = Mutex<[LedgerEntry]>([])
    static let ledgerWriteDelay: DispatchTimeInterval = .milliseconds(5)

    /// Persists a recorded ledger entry behind the request.
    func persist(_ entry: LedgerEntry) {
        let schedule = pendingLedger.withLock { pending in
            pending.append(entry)
            return pending.count == 1
        }
        guard schedule else { return }
        ledgerQueue.asyncAfter(deadline: .now() + Self.ledgerWriteDelay) { self.writePendingLedger() }
    }

    private func writePendingLedger() {
        let batch = pendingLedger.withLock { pending in
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            return batch
        }
        guard !batch.isEmpty else { return }
        do { try ledgerStore.append(contentsOf: batch) } catch {
            logger.error("risk ledger entries not persisted (kept in memory)",
                         metadata: ["error": "\(error)", "entries": "\(batch.count)"])
        }
    }

    /// Waits until every entry handed to ``persist(_:)`` is written.
    func drainLedger() { ledgerQueue.sync { writePendingLedger() } }

    /// A ledger for one runtime, filled from the state store (so a restart or a reload keeps the scores).
    func makeLedger(_ snapshot: Snapshot, logger: Logger) -> RiskLedger? {
        guard snapshot.config.cumulativeRisk != nil || !snapshot.chains.isEmpty else { return nil }
        let c = snapshot.config.cumulativeRisk ?? CumulativeRiskSettings()
        let redactor = self.redactor
        // Entries still waiting for their batched write would be missing from what the new ledger reads back.
        drainLedger()
        let ledger = RiskLedger(
            policy: CumulativeRiskPolicy(
                windowSeconds: c.windowSeconds, scores: c.riskScores.mapValues(Double.init),
                escalationThreshold: Double(c.escalationThreshold), denyThreshold: Double(c.denyThreshold),
                perTarget: c.perTarget, halfLifeSeconds: c.halfLifeSeconds, maxPrincipals: c.maxPrincipals),
            chains: snapshot.chains,
            fingerprint: { redactor.digest(.string($0)) })
        let now = Date().timeIntervalSince1970
        do {
            var skipped = 0
            for entry in try ledgerStore.load(since: now - ledger.retention) where !ledger.record(entry, now: now) {
                skipped += 1
            }
            if skipped > 0 {
                logger.warning("risk ledger at capacity while restoring; entries of principals beyond it were skipped",
                               metadata: ["skipped": "\(skipped)"])
            }
        } catch {
            logger.error("risk ledger could not be read from the state store; scores start empty", metadata: ["error": "\(error)"])
        }
        return ledger
    }

    /// Whose score a request adds to: the verified delegation root (or the caller) per `cumulative_risk.aggregate`.
    static func principal(_ caller: Caller?, aggregate: CumulativeRiskSettings.Aggregate) -> String {
        guard let caller else { return "anonymous" }
        switch aggregate {
        case .root: return caller.verifiedChain.first?.agentID ?? caller.agentID
        case .caller: return caller.agentID
        }
    }
}

/// DLP for one runtime: the scanner and what each detector's finding does.
struct DLPSetup: Sendable {
    let scanner: DLPScanner
    let config: DLPConfig

    init?(_ config: DLPConfig?) {
        guard let config, config.enabled else { return nil }
        self.config = config
        scanner = DLPScanner(detectors: Set(config.detectors.compactMap(DLPDetector.init(rawValue:))),
                             entropyThreshold: config.entropyThreshold, entropyMinLength: config.entropyMinLength,
                             allowlist: config.allowlist)
    }

    func action(for detector: DLPDetector) -> String { config.overrides[detector.rawValue] ?? config.action }

    /// What the findings ask for, and the params with every finding replaced by `[redacted:<detector>]`.
    func apply(_ params: [String: JSONValue]) -> (result: DecisionResult?, reason: String?, findings: [DLPFinding],
                                                 redacted: [String: JSONValue]) {
        let findings = scanner.scan(params)
        guard !findings.isEmpty else { return (nil, nil, [], params) }
        let redacted = scanner.redact(params, findings: findings) { finding, _ in "[redacted:\(finding.detector.rawValue)]" }
        var result: DecisionResult?
        var reason: String?
        if findings.count >= DLPScanner.maxFindings {
            // The scan stopped at its cap: what lies beyond wasn't looked at (or redacted), so refuse.
            return (.deny, "Params hold \(findings.count) or more secret-looking values; the scan stops there, so the request is refused",
                    findings, redacted)
        }
        for finding in findings {
            let wanted: DecisionResult?
            switch action(for: finding.detector) {
            case "deny": wanted = .deny
            case "require_approval": wanted = .requireApproval
            default: wanted = nil
            }
            guard let wanted, wanted.strictness > (result?.strictness ?? -1) else { continue }
            result = wanted
            reason = "Parameter '\(finding.path)' holds what looks like a secret (\(finding.detector.rawValue)); "
                + (wanted == .deny ? "secrets must not be passed in params" : "a human must approve sending it")
        }
        return (result, reason, findings, redacted)
    }
}

/// Sends approval notifications (generic webhook JSON, Slack-compatible) off the request path, with retries
/// and backoff; a slow or failing receiver never delays a decision.
final class ApprovalNotifier: Sendable {
    struct Job: Sendable {
        var notifier: ApprovalsConfig.Notifier
        var body: Data
    }

    private let stream: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation
    let logger: Logger

    init(logger: Logger) {
        (stream, continuation) = AsyncStream<Job>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        self.logger = logger
    }

    func enqueue(_ request: ApprovalRequest, notifiers: [ApprovalsConfig.Notifier]) {
        for notifier in notifiers {
            continuation.yield(Job(notifier: notifier, body: Self.body(request, notifier: notifier)))
        }
    }

    func finish() { continuation.finish() }

    /// Runs until ``finish()``; jobs are sent one after another, each with its own retries.
    func run(send: @Sendable (ApprovalsConfig.Notifier, Data) async -> Bool) async {
        for await job in stream {
            var attempt = 0
            while true {
                attempt += 1
                if await send(job.notifier, job.body) { break }
                guard attempt < job.notifier.maxAttempts else {
                    logger.error("approval notification dropped after retries",
                                 metadata: ["notifier": "\(job.notifier.name)", "attempts": "\(attempt)"])
                    break
                }
                let ceiling = min(30_000, 200 << min(attempt - 1, 10))
                try? await Task.sleep(for: .milliseconds(Int.random(in: ceiling / 2...ceiling)))
            }
        }
    }

    static func body(_ r: ApprovalRequest, notifier: ApprovalsConfig.Notifier) -> Data {
        let expires = Instant(secondsSinceEpoch: r.expiresAt).iso8601
        var text = ""
        switch notifier.type {
        case "slack":
            let lines = [
                "*Approval Required*", "*Action:* `\(r.action)`", "*Target:* `\(r.target ?? "-")`", "*Caller:* `\(r.caller)`",
                "*Risk:* `\(r.effectiveRisk.rawValue)`", "*Reason:* \(r.reason)", "*Request ID:* `\(r.id)`",
                "*Expires:* \(expires)", "",
                "Resolve with: `agent-safe approvals approve \(r.id) --reason …` or `agent-safe approvals deny \(r.id) --reason …`",
            ]
            var o: [String: JSONValue] = ["text": .string(lines.joined(separator: "\n"))]
            if let channel = notifier.channel { o["channel"] = .string(channel) }
            JSONValue.object(o).appendCompact(to: &text)
        default:
            JSONValue.object([
                "type": "approval_request",
                "request": ApprovalJSON.summary(r),
                "notified_at": .string(Instant(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).iso8601),
            ]).appendCompact(to: &text)
        }
        return Data(text.utf8)
    }
}

/// The JSON shapes of approval requests in responses and notifications.
enum ApprovalJSON {
    static func summary(_ r: ApprovalRequest) -> JSONValue {
        func opt(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        func time(_ t: Int64?) -> JSONValue { t.map { .string(Instant(secondsSinceEpoch: $0).iso8601) } ?? .null }
        return .object([
            "id": .string(r.id), "status": .string(r.status.rawValue), "audit_id": .string(r.auditID),
            "action": .string(r.action), "target": opt(r.target), "caller": .string(r.caller), "principal": .string(r.principal),
            "delegation_chain": .array(r.delegationChain.map(JSONValue.string)), "params": .object(r.params),
            "risk_class": .string(r.riskClass.rawValue), "effective_risk": .string(r.effectiveRisk.rawValue),
            "policy_matched": opt(r.policyMatched), "reason": .string(r.reason), "code": .string(r.code),
            "ticket_id": opt(r.changeTicket), "correlation_id": opt(r.correlationID),
            "cumulative_risk": r.cumulativeRisk.map(JSONValue.number) ?? .null,
            "created_at": time(r.createdAt), "expires_at": time(r.expiresAt), "resolved_at": time(r.resolvedAt),
            "resolved_by": opt(r.resolvedBy), "resolution_reason": opt(r.resolutionReason),
            "ticket_issued": .bool(r.ticketIssuedAt != nil),
        ])
    }
}

/// Sends approval notifications and, every few seconds, expires due approvals (audited), sweeps idle
/// principals from the ledger and prunes its table. Stops on shutdown before the audit log closes.
struct ControlsService: Service {
    let sidecar: Sidecar
    var sweepEvery: Duration = .seconds(5)

    func run() async throws {
        let notifier = sidecar.controls.notifier
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await notifier.run { n, body in await Self.send(n, body) }
                }
                group.addTask {
                    var prunes = 0
                    while !Task.isCancelled {
                        try? await Task.sleep(for: sweepEvery)
                        if Task.isCancelled { break }
                        await sidecar.expireApprovals()
                        let now = Date().timeIntervalSince1970
                        prunes += 1
                        if let ledger = sidecar.runtime.ledger {
                            ledger.sweep(now: now)
                            if prunes % 12 == 0 { _ = try? sidecar.controls.ledgerStore.prune(before: now - ledger.retention) }
                        }
                        // Resolved approval requests leave the store after approvals.retention_days (hourly).
                        if prunes % 720 == 1 {
                            let days = Int64(sidecar.runtime.snapshot.config.approvals.retentionDays)
                            _ = try? sidecar.controls.approvals.prune(resolvedBefore: Int64(now) - days * 86_400)
                        }
                    }
                }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            notifier.finish()
        }
        sidecar.controls.drainLedger()
    }

    static func send(_ n: ApprovalsConfig.Notifier, _ body: Data) async -> Bool {
        var request = HTTPClientRequest(url: n.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "agent-safe")
        for (k, v) in n.headers { request.headers.add(name: k, value: v) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await ShippingHTTPClient.shared.execute(request, timeout: .milliseconds(Int64(n.timeoutSeconds * 1000)))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return (200..<300).contains(Int(response.status.code))
        } catch {
            return false
        }
    }
}
