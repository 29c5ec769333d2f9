// Audit benchmarks (issue 4, section 8): append throughput and caller wait per durability mode, with 32
// concurrent appenders (as a busy sidecar has), and verify throughput.
//
// Targets on the 2-core reference machine: batch mode ≥ 50,000 events/s, verify ≥ 200,000 lines/s.
// Figures are recorded in docs/performance.md.

import AgentSafeAudit
import AgentSafeCore
import Benchmark
import Foundation

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        warmupIterations: 2,
        maxDuration: .seconds(4),
        maxIterations: 1_000
    )

    for durability in AuditDurability.allCases {
        // One iteration = 1,000 events appended by N concurrent tasks (requests in flight); wall clock per event.
        // Group commit shares one fsync among the events queued while the previous one ran, so throughput grows
        // with concurrency until the writer thread itself is the limit.
        for writers in [32, 256] {
            Benchmark("Audit/append/\(durability.rawValue), \(writers) writers", configuration: .init(scalingFactor: .kilo)) { benchmark in
                let log = Logs.shared.log(durability)
                let count = benchmark.scaledIterations.count
                await withTaskGroup(of: Void.self) { group in
                    for w in 0..<writers {
                        group.addTask {
                            var i = w
                            while i < count {
                                blackHole(try? await log.append(Logs.event(i)))
                                i += writers
                            }
                        }
                    }
                }
            }
        }
        // Caller wait: one append awaited at a time (the latency a single request sees).
        Benchmark("Audit/append/\(durability.rawValue), 1 writer (caller wait)",
                  configuration: .init(metrics: [.wallClock], maxDuration: .seconds(3))) { benchmark in
            let log = Logs.shared.log(durability)
            for i in benchmark.scaledIterations { blackHole(try await log.append(Logs.event(i))) }
        }
    }

    // Verify a 100,000-line log; wall clock per line.
    Benchmark("Audit/verify/100k lines", configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(5))) { benchmark in
        let path = Logs.shared.verifyFile
        benchmark.startMeasurement()
        let report = AuditVerifier().verify([path])
        benchmark.stopMeasurement()
        precondition(report.ok && report.events == 100_000)
        blackHole(report)
    }
}

final class Logs: @unchecked Sendable {
    static let shared = Logs()
    let directory = NSTemporaryDirectory() + "agent-safe-audit-bench-\(ProcessInfo.processInfo.processIdentifier)"
    private var logs: [AuditDurability: AuditLog] = [:]
    private let lock = NSLock()

    func log(_ durability: AuditDurability) -> AuditLog {
        lock.lock()
        defer { lock.unlock() }
        if let log = logs[durability] { return log }
        let log = try! AuditLog(AuditLogOptions(path: "\(directory)/\(durability.rawValue)/audit.jsonl", durability: durability,
                                                rotateBytes: 256 << 20))
        logs[durability] = log
        return log
    }

    lazy var verifyFile: String = {
        let path = "\(directory)/verify/audit.jsonl"
        let log = try! AuditLog(AuditLogOptions(path: path, durability: .none, rotateBytes: 0))
        for i in 0..<100_000 { _ = try! log.append(Logs.event(i)) }
        log.close()
        return path
    }()

    static func event(_ i: Int) -> AuditEvent {
        AuditEvent(eventID: "evt-\(i)", timestamp: "2026-11-25T10:00:00Z", eventType: .decision, action: "scale-deployment",
                   target: "prod/shop-web", caller: "deploy-bot", callerRoles: ["deployer"],
                   params: ["namespace": "shop", "deployment": "web", "replicas": 3], decision: .allow,
                   reason: "Deployers may scale production within bounds", policyMatched: "allow-prod-scale",
                   riskClass: .medium, effectiveRisk: .high, jti: "0123456789abcdef0123456789abcdef",
                   context: ["code": "policy", "matrix_risk": "high"])
    }
}
