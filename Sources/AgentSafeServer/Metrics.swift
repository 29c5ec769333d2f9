import AgentSafeAudit
import AgentSafeShipping
import Prometheus
import Synchronization

/// The sidecar's Prometheus metrics, in its own registry (no global bootstrap: tests start many sidecars).
final class SidecarMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// `agent_safe_request_duration_seconds{route, method}`, one histogram per pair, made on first use.
    private let latencyHistograms = Mutex<[LatencyKey: DurationHistogram]>([:])
    private let decisionCounters: [String: Counter]
    private let verifyCounters = Mutex<[String: Counter]>([:])
    private let reloadOK: Counter
    private let reloadFailed: Counter
    private let auditFsyncs: Gauge
    private let auditFsyncSeconds: Gauge
    private let auditQueue: Gauge
    private let auditLastSeq: Gauge
    private let trackedCallers: Gauge
    private let breakersOpen: Gauge
    private let ledgerPrincipals: Gauge

    init() {
        var decisions: [String: Counter] = [:]
        for result in ["allow", "deny", "require_approval"] {
            decisions[result] = registry.makeCounter(descriptor: .init(namespace: "agent_safe", metricName: "decisions", unitName: "total", helpText: "Decisions by result"), labels: [("result", result)])
        }
        decisionCounters = decisions
        reloadOK = registry.makeCounter(descriptor: .init(namespace: "agent_safe", metricName: "reloads", unitName: "total", helpText: "Configuration reloads"), labels: [("outcome", "ok")])
        reloadFailed = registry.makeCounter(descriptor: .init(namespace: "agent_safe", metricName: "reloads", unitName: "total", helpText: "Configuration reloads"), labels: [("outcome", "rejected")])
        auditFsyncs = registry.makeGauge(descriptor: .init(namespace: "agent_safe", metricName: "audit_fsyncs", unitName: "", helpText: "fsync calls of the audit writer"), labels: [])
        auditFsyncSeconds = registry.makeGauge(descriptor: .init(namespace: "agent_safe", metricName: "audit_fsync_seconds_sum", unitName: "", helpText: "Total time spent in audit fsync"), labels: [])
        auditQueue = registry.makeGauge(descriptor: .init(namespace: "agent_safe", metricName: "audit_queue_depth", unitName: "", helpText: "Events waiting for the audit writer"), labels: [])
        trackedCallers = registry.makeGauge(descriptor: .init(namespace: "agent_safe", metricName: "rate_limit_callers", unitName: "", helpText: "Callers the rate limiter tracks"), labels: [])
        breakersOpen = registry.makeGauge(descriptor: .init(namespace: "agent_safe", metricName: "circuit_breakers_open", unitName: "", helpText: "Callers paused by the circuit breaker"), labels: [])
        ledgerPrincipals = registry.makeGauge(descriptor: .init(namespace: "agent_safe", metricName: "risk_ledger_principals", unitName: "", helpText: "Principals in the cumulative-risk ledger"), labels: [])
        auditLastSeq = registry.makeGauge(descriptor: .init(namespace: "agent_safe", metricName: "audit_last_seq", unitName: "", helpText: "Last audit sequence number written"), labels: [])
    }

    func decision(_ result: String) { decisionCounters[result]?.increment() }

    private struct LatencyKey: Hashable {
        let route: String
        let method: String
    }

    private static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100), .seconds(1),
    ]

    /// Methods that get a label of their own; any other is `method="other"`.
    private static let latencyMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// The route label for a request: the template Hummingbird matched (`context.endpointPath`, with its `{id}`
    /// captures written `:id` as in `Routes.paths`), or `unmatched` for anything that isn't one of our routes (an
    /// unknown path, or a known path with a method it doesn't serve: Hummingbird then says `NotFound`). Only
    /// templates from `Routes.paths` become labels, so the number of series is bounded whatever clients send.
    static func routeLabel(endpointPath: String?) -> String {
        guard let path = endpointPath, path.hasPrefix("/") else { return "unmatched" }
        var template = path
        if path.contains("{") {
            template = path.split(separator: "/", omittingEmptySubsequences: false).map { component in
                component.hasPrefix("{") && component.hasSuffix("}") ? ":" + component.dropFirst().dropLast() : String(component)
            }.joined(separator: "/")
        }
        return Routes.paths[template] != nil ? template : "unmatched"
    }

    static func methodLabel(_ method: String) -> String {
        latencyMethods.contains(method) ? method : "other"
    }

    /// Records one request's time in `agent_safe_request_duration_seconds{route="<template>",method="<METHOD>"}`.
    func recordLatency(_ duration: Duration, endpointPath: String?, method: String) {
        let key = LatencyKey(route: Self.routeLabel(endpointPath: endpointPath), method: Self.methodLabel(method))
        let histogram = latencyHistograms.withLock { histograms in
            if let h = histograms[key] { return h }
            let h = registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(namespace: "agent_safe", metricName: "request_duration", unitName: "seconds",
                                                 helpText: "Time to answer a request, by route template and method"),
                labels: [("route", key.route), ("method", key.method)],
                buckets: Self.latencyBuckets)
            histograms[key] = h
            return h
        }
        histogram.record(duration)
    }

    func verification(_ outcome: String) {
        let counter = verifyCounters.withLock { counters in
            if let c = counters[outcome] { return c }
            let c = registry.makeCounter(descriptor: .init(namespace: "agent_safe", metricName: "ticket_verifications", unitName: "total", helpText: "Ticket verifications by outcome"), labels: [("outcome", outcome)])
            counters[outcome] = c
            return c
        }
        counter.increment()
    }

    func reloads(ok: Bool) { (ok ? reloadOK : reloadFailed).increment() }

    private let labelledCounters = Mutex<[String: Counter]>([:])

    /// A counter `agent_safe_<name>_total{<label>="<value>"}`, made on first use.
    func count(_ name: String, help: String, label: String, _ value: String) {
        let key = "\(name)\u{0}\(value)"
        let counter = labelledCounters.withLock { counters in
            if let c = counters[key] { return c }
            let c = registry.makeCounter(descriptor: .init(namespace: "agent_safe", metricName: name, unitName: "total", helpText: help),
                                         labels: [(label, value)])
            counters[key] = c
            return c
        }
        counter.increment()
    }

    func approval(_ outcome: String) { count("approvals", help: "Approval requests by transition", label: "outcome", outcome) }

    /// Decisions that a control (rate limit, breaker, DLP, cumulative risk, chain rule, change ticket) made stricter.
    func controlDecision(_ code: String) { count("control_decisions", help: "Decisions raised by a control, by code", label: "code", code) }


    private let shipperGauges = Mutex<[String: (lag: Gauge, failures: Gauge, shipped: Gauge)]>([:])

    func render(audit: AuditLog.Stats, shippers: [ShipperSnapshot], callers: Int = 0, breakers: Int = 0, principals: Int = 0) -> String {
        trackedCallers.set(Double(callers))
        breakersOpen.set(Double(breakers))
        ledgerPrincipals.set(Double(principals))
        for s in shippers {
            let g = shipperGauges.withLock { gauges in
                if let g = gauges[s.name] { return g }
                let labels = [("shipper", s.name)]
                let g = (registry.makeGauge(descriptor: .init(namespace: "agent_safe", metricName: "shipper_lag", unitName: "events",
                                                              helpText: "Events written but not yet shipped"), labels: labels),
                         registry.makeGauge(descriptor: .init(namespace: "agent_safe", metricName: "shipper_failures", unitName: "",
                                                              helpText: "Failed shipping attempts"), labels: labels),
                         registry.makeGauge(descriptor: .init(namespace: "agent_safe", metricName: "shipper_shipped", unitName: "events",
                                                              helpText: "Events shipped since start"), labels: labels))
                gauges[s.name] = g
                return g
            }
            g.lag.set(Double(s.lag))
            g.failures.set(Double(s.failures))
            g.shipped.set(Double(s.shippedEvents))
        }
        auditFsyncs.set(Double(audit.fsyncs))
        auditFsyncSeconds.set(audit.fsyncSeconds)
        auditQueue.set(Double(audit.queueDepth))
        auditLastSeq.set(Double(audit.lastSeq))
        return registry.emitToString()
    }
}
