import AgentSafeAudit
import AgentSafeConfig
import AgentSafeCore
import AgentSafeServer
import AgentSafeShipping
import AgentSafeTickets
import ArgumentParser
import Foundation
import Logging

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Verify, show and replay the hash-chained audit log.",
        subcommands: [Verify.self, Show.self, Replay.self, Ship.self])

    /// The files to read: the given paths (a log's active path brings its rotated siblings), else the configured log.
    static func files(_ paths: [String], global: GlobalOptions) throws -> [String] {
        var targets = paths
        if targets.isEmpty {
            guard let path = try loadProjectConfig(global).auditPath else {
                throw Console.fail("no audit log given and none configured (audit.path or audit_log in agent-safe.yaml)")
            }
            targets = [path]
        }
        var files: [String] = []
        for p in targets {
            let set = AuditFileSet(path: p).files()
            if set.isEmpty {
                throw Console.fail("\(p): no such audit log")
            }
            // A rotated file named directly stands alone; an active path brings its set.
            files += FileManager.default.fileExists(atPath: p) && !set.contains(p) ? [p] : set
        }
        return files
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check hashes, links, seq and (with a key) signed checkpoints. Exit 0 intact, 1 broken.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Log files (default: the configured log and its rotated files).")
        var paths: [String] = []

        @Option(name: .long, help: "Checkpoint verification key (PEM public/private key or HMAC key file).")
        var key: String?

        @Option(name: .long, help: "Checkpoint verification keys as a JWKS file.")
        var jwks: String?

        @Flag(name: .customLong("allow-tail"), help: "Accept events after the last checkpoint (a live log).")
        var allowTail = false

        @Option(name: [.customShort("o"), .long], help: "text or json.")
        var output: OutputFormat = .text

        func run() async throws {
            let files = try AuditCommand.files(paths, global: global)
            var ring: KeyRing?
            if let key {
                do { ring = try KeyRing([try KeyFile.load(source: key)]) } catch { throw Console.fail(error.description) }
            } else if let jwks {
                ring = try await TicketCommand.Verify.fetchJWKS(jwks)
            }
            let total = files.reduce(Int64(0)) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int64) ?? 0) }
            let tty = isatty(STDERR_FILENO) == 1 && output == .text
            let report = AuditVerifier(ring: ring, allowUnsignedTail: allowTail).verify(files) { done in
                if tty, total > 0 {
                    FileHandle.standardError.write(Data("\r  verifying… \(done * 100 / total)%".utf8))
                }
            }
            if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            if output == .json {
                var o: [String: JSONValue] = ["ok": .bool(report.ok), "events": .integer(report.events),
                                              "checkpoints": .integer(Int64(report.checkpoints)),
                                              "last_seq": .integer(report.lastSeq), "last_hash": .string(report.lastHash),
                                              "files": .array(report.files.map(JSONValue.string)),
                                              "signatures_checked": .bool(ring != nil)]
                if let f = report.failure {
                    o["failure"] = .object(["file": .string(f.file), "line": .integer(Int64(f.line)),
                                            "seq": f.seq.map(JSONValue.integer) ?? .null, "reason": .string(f.reason)])
                }
                print(JSONValue.object(o).prettyText)
            } else if let f = report.failure {
                print("\(Console.paint("BROKEN", "31;1")) \(f.file):\(f.line): \(f.reason)")
                print("  \(report.events) entr\(report.events == 1 ? "y" : "ies") verified before it")
            } else {
                print("\(Console.paint("OK", "32;1")) \(report.events) entr\(report.events == 1 ? "y" : "ies") in \(report.files.count) file(s), "
                      + "seq 1…\(report.lastSeq), \(report.checkpoints) checkpoint(s)"
                      + (ring == nil ? " (signatures not checked: give --key or --jwks)" : " with valid signatures"))
                if report.unsignedTail > 0 { print("  \(report.unsignedTail) event(s) after the last checkpoint") }
                print("  head: \(report.lastHash)")
            }
            if !report.ok { throw ExitCode(1) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List audit events, filtered.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Log files (default: the configured log).")
        var paths: [String] = []

        @Option(name: .long) var caller: String?
        @Option(name: .long) var action: String?
        @Option(name: .long, help: "allow, deny or require_approval.") var decision: String?
        @Option(name: .customLong("event-type")) var eventType: String?
        @Option(name: .long, help: "ISO 8601; events at or after.") var since: String?
        @Option(name: .long, help: "ISO 8601; events before.") var until: String?
        @Option(name: .customLong("audit-id")) var auditID: String?
        @Option(name: [.customShort("o"), .long], help: "table or json (JSON lines).") var output: ShowFormat = .table

        enum ShowFormat: String, ExpressibleByArgument, CaseIterable { case table, json }

        func run() throws {
            let sinceI = try since.map { s in try Timestamps.parse(s).orThrow(Console.fail("--since: not an ISO 8601 time")) }
            let untilI = try until.map { s in try Timestamps.parse(s).orThrow(Console.fail("--until: not an ISO 8601 time")) }
            var shown = 0
            if output == .table {
                print("SEQ".padding(toLength: 7, withPad: " ", startingAt: 0) + "TIME                  TYPE           RESULT            ACTION                   TARGET                 CALLER")
            }
            for (_, value) in AuditReader(files: try AuditCommand.files(paths, global: global)) {
                func s(_ k: String) -> String { value[k]?.stringValue ?? "" }
                if let caller, s("caller") != caller { continue }
                if let action, s("action") != action { continue }
                if let decision, s("decision") != decision { continue }
                if let eventType, s("event_type") != eventType { continue }
                if let auditID, s("event_id") != auditID, s("correlation_id") != auditID { continue }
                if sinceI != nil || untilI != nil {
                    guard let t = Timestamps.parse(s("timestamp")) else { continue }
                    if let sinceI, t < sinceI { continue }
                    if let untilI, !(t < untilI) { continue }
                }
                shown += 1
                if output == .json {
                    print(value.canonicalText)
                } else {
                    func col(_ v: String, _ w: Int) -> String { v.count >= w ? String(v.prefix(w - 1)) + " " : v.padding(toLength: w, withPad: " ", startingAt: 0) }
                    print(col(value["seq"]?.canonicalText ?? "", 7) + col(s("timestamp"), 22) + col(s("event_type"), 15)
                          + col(s("decision"), 18) + col(s("action"), 25) + col(s("target"), 23) + s("caller"))
                }
            }
            if output == .table { print("\(shown) event(s)") }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-decide every recorded request against a candidate configuration; report what would change.",
            discussion: """
                Policy impact analysis before a policy change ships. Requests are re-evaluated at their recorded \
                time with their recorded caller (roles, groups, delegation chain). Requests with redacted \
                (sensitive) parameters can't be re-validated and are counted apart. Exit 0 when nothing changes, \
                2 when some decisions would change.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Log files (default: the configured log).")
        var paths: [String] = []

        @Option(name: [.customShort("o"), .long], help: "text or json.")
        var output: OutputFormat = .text

        @Option(name: .long, help: "List at most this many changed decisions (text output).")
        var limit = 50

        func run() throws {
            let snapshot = try global.loadSnapshot()
            var total = 0, changed = 0, skipped = 0
            var changes: [JSONValue] = []
            var byTransition: [String: Int] = [:]
            for (_, value) in AuditReader(files: try AuditCommand.files(paths, global: global)) {
                guard value["event_type"] == "decision", let action = value["action"]?.stringValue,
                    let old = value["decision"]?.stringValue
                else { continue }
                total += 1
                let params = value["params"]?.objectValue ?? [:]
                if params.values.contains(where: { $0.stringValue?.hasPrefix("hmac-sha256:") == true }) {
                    skipped += 1
                    continue
                }
                let callerID = value["caller"]?.stringValue ?? "anonymous"
                let chain = (value["delegation_chain"]?.arrayValue ?? []).compactMap(\.stringValue)
                let caller: Caller? = callerID == "anonymous" ? nil : Caller(
                    agentID: callerID, roles: (value["caller_roles"]?.arrayValue ?? []).compactMap(\.stringValue),
                    groups: (value["caller_groups"]?.arrayValue ?? []).compactMap(\.stringValue),
                    delegationChain: chain.map { DelegationLink(agentID: $0) },
                    delegationVerified: value["context"]?["delegation_verified"] != .bool(false))
                let instant = value["timestamp"]?.stringValue.flatMap(Timestamps.parse) ?? Timestamps.now()
                let request = DecisionRequest(action: action, target: value["target"]?.stringValue, caller: caller,
                                              params: params, ticketID: value["ticket_id"]?.stringValue, instant: instant,
                                              auditID: value["event_id"]?.stringValue ?? "")
                let decision = snapshot.engine.evaluate(request)
                guard decision.result.rawValue != old else { continue }
                changed += 1
                byTransition["\(old) → \(decision.result.rawValue)", default: 0] += 1
                changes.append(.object([
                    "seq": value["seq"] ?? .null, "event_id": value["event_id"] ?? .null, "action": .string(action),
                    "target": value["target"] ?? .null, "caller": .string(callerID), "was": .string(old),
                    "now": .string(decision.result.rawValue), "was_policy": value["policy_matched"] ?? .null,
                    "now_policy": decision.policyMatched.map(JSONValue.string) ?? .null, "reason": .string(decision.reason),
                ]))
            }
            if output == .json {
                print(JSONValue.object([
                    "decisions": .integer(Int64(total)), "changed": .integer(Int64(changed)),
                    "not_replayable": .integer(Int64(skipped)),
                    "transitions": .object(byTransition.mapValues { .integer(Int64($0)) }), "changes": .array(changes),
                ]).prettyText)
            } else {
                print("\(total) decision(s) replayed against the candidate configuration: \(changed) would change"
                      + (skipped > 0 ? ", \(skipped) not replayable (sensitive parameters are redacted)" : ""))
                for (t, n) in byTransition.sorted(by: { $0.key < $1.key }) { print("  \(t): \(n)") }
                for c in changes.prefix(limit) {
                    func s(_ k: String) -> String { c[k]?.stringValue ?? c[k].map(\.canonicalText) ?? "" }
                    print("  seq \(s("seq")) \(s("action")) on \(s("target")) by \(s("caller")): \(s("was")) → \(s("now")) (\(c["now_policy"]?.stringValue ?? "no policy"))")
                }
                if changes.count > limit { print("  … \(changes.count - limit) more (use -o json)") }
            }
            if changed > 0 { throw ExitCode(2) }
        }
    }
}

extension AuditCommand {
    struct Ship: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a range of the log to a configured shipper (audit.shippers), now.",
            discussion: """
                Without --from-seq, ships what the shipper hasn't acknowledged yet (from its durable cursor). With                 it, re-sends from that seq (receivers deduplicate by event id); the cursor only moves forward. The                 running sidecar ships continuously on its own; this is for catching up, re-sending and outages.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: "The shipper's name in audit.shippers.")
        var to: String

        @Option(name: .customLong("from-seq"), help: "First seq to send (default: after the shipper's cursor).")
        var fromSeq: Int64?

        func run() async throws {
            let config = try loadProjectConfig(global)
            guard let path = config.auditPath else { throw Console.fail("no audit log configured (audit.path or audit_log)") }
            let runner: ShipperRunner
            do {
                guard let r = try ShippingSetup.runner(config, auditPath: path, logger: Logger(label: "agent-safe")) else {
                    throw Console.fail("no shippers configured (audit.shippers in agent-safe.yaml)")
                }
                runner = r
            } catch let error as SidecarStartError {
                throw Console.fail(error.description)
            }
            guard runner.shipperNames.contains(to) else {
                let hint = Suggest.closest(to: to, in: runner.shipperNames).map { " (did you mean '\($0)'?)" } ?? ""
                throw Console.fail("no shipper named '\(to)'\(hint); configured: \(runner.shipperNames.joined(separator: ", "))")
            }
            var start = fromSeq ?? 1
            if fromSeq == nil {
                let store = try SQLiteShipperCursorStore(stateDirectory: config.stateDirectory)
                start = ((try await store.cursor(named: to))?.lastSeq ?? 0) + 1
            }
            do {
                let result = try await runner.shipRange(to: to, fromSeq: start)
                if result.events == 0 {
                    print("nothing to ship to \(to) from seq \(start) (cursor \(result.cursor))")
                } else {
                    print("shipped \(result.events) event(s) (seq \(result.firstSeq ?? 0)…\(result.lastSeq ?? 0)) to \(to) in \(result.batches) batch(es); cursor \(result.cursor)")
                }
            } catch {
                throw Console.fail("shipping to \(to) failed: \(error)")
            }
        }
    }
}

extension Optional {
    func orThrow(_ error: @autoclosure () -> any Error) throws -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}
