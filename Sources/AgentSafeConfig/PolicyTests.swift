import AgentSafeCore
import Foundation

/// One case of a policy test file (upstream §3.3, plus caller objects, `at`, `expect_policy`, `expect_risk`).
public struct PolicyTestCase: Sendable {
    public var name: String
    public var file: String
    public var line: Int
    public var action: String
    public var target: String?
    public var caller: Caller?
    public var params: [String: JSONValue]
    public var ticketID: String?
    public var at: Instant?
    public var expect: DecisionResult
    /// `.some(nil)` expects that no rule matched.
    public var expectPolicy: String??
    public var expectRisk: RiskClass?
}

public struct PolicyTestResult: Sendable {
    public var testCase: PolicyTestCase
    public var decision: Decision
    /// Empty when the case passed.
    public var failures: [String]
    public var passed: Bool { failures.isEmpty }
}

public enum PolicyTests {
    static let caseKeys = [
        "name", "description", "action", "target", "caller", "params", "ticket_id", "at", "expect", "expect_policy",
        "expect_risk",
    ]

    /// Test files at `path`: the file itself, or the `*.yaml`/`*.yml` files directly in a directory, sorted.
    public static func files(at path: String, cwd: String) throws(ConfigLoadError) -> [String] {
        var isDirectory: ObjCBool = false
        let shown = CatalogueLoader.display(path, cwd: cwd)
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigLoadError([ConfigDiagnostic(code: .fileNotFound, file: shown, line: 0, column: 0, fieldPath: "",
                                                    message: "test path not found")])
        }
        if !isDirectory.boolValue { return [path] }
        var diagnostics: [ConfigDiagnostic] = []
        let found = CatalogueLoader.yamlFiles(in: path, what: "tests", cwd: cwd, diagnostics: &diagnostics)
        if found.isEmpty {
            throw ConfigLoadError([ConfigDiagnostic(code: .fileNotFound, file: shown, line: 0, column: 0, fieldPath: "",
                                                    message: "no YAML test files found in this directory")])
        }
        return found
    }

    /// Loads the cases of one file; every problem is reported, with its location.
    public static func load(path: String, displayPath: String, unknownKeys: UnknownKeyPolicy = .error)
        throws(ConfigLoadError) -> [PolicyTestCase]
    {
        guard let root = try YAMLFileReader().read(path: path, displayPath: displayPath) else {
            throw ConfigLoadError([ConfigDiagnostic(code: .emptyFile, file: displayPath, line: 1, column: 1,
                                                    fieldPath: "", message: "test file is empty; expected a 'tests' list")])
        }
        let ctx = DecodeContext(file: displayPath, unknownKeys: unknownKeys)
        var cases: [PolicyTestCase] = []
        if let f = ctx.mapping(root, "", allowed: ["tests"]), let node = ctx.require(f, "tests"),
            let items = ctx.sequence(node, "tests")
        {
            for (i, item) in items.enumerated() {
                if let c = decodeCase(item, "tests[\(i)]", ctx: ctx) { cases.append(c) }
            }
        }
        if ctx.hasErrors { throw ConfigLoadError(ctx.diagnostics) }
        return cases
    }

    static func decodeCase(_ node: YAMLNode, _ path: String, ctx: DecodeContext) -> PolicyTestCase? {
        guard let f = ctx.mapping(node, path, allowed: caseKeys) else { return nil }
        let name = ctx.require(f, "name").flatMap { ctx.string($0, f.path("name")) }
        let action = ctx.require(f, "action").flatMap { ctx.string($0, f.path("action")) }
        let expect = ctx.require(f, "expect").flatMap { ctx.enumValue($0, f.path("expect"), DecisionResult.self) }
        _ = f["description"].flatMap { ctx.string($0, f.path("description")) }
        let target = f.present("target").flatMap { ctx.string($0, f.path("target")) }
        let ticket = f.present("ticket_id").flatMap { ctx.string($0, f.path("ticket_id")) }
        var params: [String: JSONValue] = [:]
        if let n = f.present("params") {
            if case .mapping = n.kind, case .object(let o)? = ctx.json(n, f.path("params")) {
                params = o
            } else if case .mapping = n.kind {
            } else {
                ctx.report(.wrongType, n, f.path("params"), "expected a mapping, got \(n.kindName)")
            }
        }
        var caller: Caller?
        if let n = f.present("caller") { caller = decodeCaller(n, f.path("caller"), ctx: ctx) }
        var at: Instant?
        if let n = f.present("at"), let text = ctx.text(n, f.path("at")) {
            at = Timestamps.parse(text)
            if at == nil {
                ctx.report(.invalidValue, n, f.path("at"), "'\(text)' is not an ISO 8601 date-time like 2026-03-02T10:00:00Z")
            }
        }
        var expectPolicy: String??
        if let n = f["expect_policy"] {
            expectPolicy = n.isNull ? .some(nil) : ctx.string(n, f.path("expect_policy")).map { .some($0) }
        }
        let expectRisk = f.present("expect_risk").flatMap { ctx.enumValue($0, f.path("expect_risk"), RiskClass.self) }
        guard let name, let action, let expect else { return nil }
        return PolicyTestCase(name: name, file: ctx.file, line: node.line, action: action, target: target,
                              caller: caller, params: params, ticketID: ticket, at: at, expect: expect,
                              expectPolicy: expectPolicy, expectRisk: expectRisk)
    }

    static func decodeCaller(_ node: YAMLNode, _ path: String, ctx: DecodeContext) -> Caller? {
        if case .scalar = node.kind {
            return ctx.string(node, path).map { Caller(agentID: $0) }
        }
        guard let f = ctx.mapping(node, path, allowed: ["agent_id", "agent_name", "roles", "groups", "delegation_chain"])
        else { return nil }
        guard let id = ctx.require(f, "agent_id").flatMap({ ctx.string($0, f.path("agent_id")) }) else { return nil }
        // A test states the chain it wants to exercise: it counts as proven.
        var caller = Caller(agentID: id, delegationVerified: true)
        caller.agentName = f.present("agent_name").flatMap { ctx.string($0, f.path("agent_name")) } ?? ""
        caller.roles = f.present("roles").flatMap { ctx.stringList($0, f.path("roles")) } ?? []
        caller.groups = f.present("groups").flatMap { ctx.stringList($0, f.path("groups")) } ?? []
        if let n = f.present("delegation_chain"), let items = ctx.sequence(n, f.path("delegation_chain")) {
            for (i, item) in items.enumerated() {
                let p = "\(f.path("delegation_chain"))[\(i)]"
                if case .scalar = item.kind {
                    if let s = ctx.string(item, p) { caller.delegationChain.append(DelegationLink(agentID: s)) }
                } else if let lf = ctx.mapping(item, p, allowed: ["agent_id", "agent_name"]),
                    let lid = ctx.require(lf, "agent_id").flatMap({ ctx.string($0, lf.path("agent_id")) })
                {
                    let lname = lf.present("agent_name").flatMap { ctx.string($0, lf.path("agent_name")) } ?? ""
                    caller.delegationChain.append(DelegationLink(agentID: lid, agentName: lname))
                }
            }
        }
        return caller
    }

    /// Runs cases against an engine; `now` is used for cases without `at`.
    public static func run(_ cases: [PolicyTestCase], engine: PolicyEngine, now: Instant) -> [PolicyTestResult] {
        cases.enumerated().map { i, c in
            let request = DecisionRequest(action: c.action, target: c.target, caller: c.caller, params: c.params,
                                          ticketID: c.ticketID, instant: c.at ?? now, auditID: "test-\(i + 1)")
            let decision = engine.evaluate(request)
            var failures: [String] = []
            if decision.result != c.expect {
                failures.append("expected \(c.expect.rawValue), got \(decision.result.rawValue)")
            }
            if let expected = c.expectPolicy, decision.policyMatched != expected {
                failures.append("expected policy \(expected ?? "none"), got \(decision.policyMatched ?? "none")")
            }
            if let risk = c.expectRisk, decision.effectiveRisk != risk {
                failures.append("expected risk \(risk.rawValue), got \(decision.effectiveRisk.rawValue)")
            }
            return PolicyTestResult(testCase: c, decision: decision, failures: failures)
        }
    }
}

/// ISO 8601 / RFC 3339 timestamps.
public enum Timestamps {
    /// Parses `2026-03-02T10:00:00Z`, with optional fractional seconds and a `±HH:MM` offset.
    public static func parse(_ text: String) -> Instant? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let d = formatter.date(from: text) { return Instant(secondsSinceEpoch: Int64(d.timeIntervalSince1970.rounded(.down))) }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = formatter.date(from: text) { return Instant(secondsSinceEpoch: Int64(d.timeIntervalSince1970.rounded(.down))) }
        return nil
    }

    public static func now() -> Instant {
        Instant(secondsSinceEpoch: Int64(Date().timeIntervalSince1970.rounded(.down)))
    }

    /// `2026-03-02T10:00:00Z`.
    public static func format(_ instant: Instant) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(instant.secondsSinceEpoch)))
    }
}
