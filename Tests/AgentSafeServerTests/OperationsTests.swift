import AgentSafeCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Yams

@testable import AgentSafeServer

/// Catalogue, policies, reload, health, metrics and the OpenAPI document.
@Suite("Sidecar: catalogue, admin and operations")
struct OperationsTests {
    @Test func actionsAndPolicies() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let list = try await client.get("/v1/actions")
            #expect(list.status == .ok)
            let actions = try #require(try list.json["actions"]?.arrayValue)
            #expect(actions.compactMap { $0["name"]?.stringValue } == ["get-pod-logs", "restart-deployment", "scale-deployment"])
            #expect(actions[2]["risk_class"] == "medium")
            #expect(actions[2]["reversible"] == true)
            #expect(actions[2]["target_types"] == ["k8s-deployment"])
            #expect(actions[2]["parameters"] == nil)

            let one = try await client.get("/v1/actions/scale-deployment").json
            #expect(one["name"] == "scale-deployment")
            #expect(one["rollback_action"] == "scale-deployment")
            #expect(one["required_privileges"] == ["apps/deployments/scale:patch"])
            let params = try #require(one["parameters"]?.arrayValue)
            #expect(params.compactMap { $0["name"]?.stringValue } == ["namespace", "deployment", "replicas"])
            #expect(params[2]["type"] == "integer")
            #expect(params[2]["required"] == true)
            #expect(params[2]["sensitive"] == false)
            #expect(try await client.get("/v1/actions/get-pod-logs").json["rollback_action"] == .null)

            let policies = try await client.get("/v1/policies").json
            #expect(policies["digest"]?.stringValue?.count == 64)
            let rules = try #require(policies["rules"]?.arrayValue)
            #expect(rules.compactMap { $0["name"]?.stringValue } == ["approve-critical", "approve-prod", "allow-reads", "allow-dev"])
            #expect(rules[2]["actions"] == ["get-pod-logs"])
            #expect(rules[0]["priority"] == 1000)
            #expect(rules[0]["decision"] == "require_approval")
            #expect(policies["lint"] == [])
        }
    }

    @Test func policiesListsLintFindings() async throws {
        let project = try Project()
        defer { project.remove() }
        try project.write(Starter.policy + """
              - name: shadowed
                priority: 5
                match:
                  targets: {environments: [dev]}
                  callers: {}
                decision: deny
                reason: never reached

            """, to: "policies/default.yaml")
        try await project.withApp { client in
            let lint = try #require(try await client.get("/v1/policies").json["lint"]?.arrayValue)
            #expect(!lint.isEmpty)
            #expect(lint.contains { $0["rule"] == "shadowed" })
            #expect(lint.allSatisfy { $0["kind"]?.stringValue != nil && $0["message"]?.stringValue != nil })
        }
    }

    @Test func reloadSwapsAValidConfigurationAndKeepsTheOldOneOnError() async throws {
        let project = try Project()
        defer { project.remove() }
        let admin: HTTPFields = [.authorization: "Bearer \(project.adminToken)"]
        try await project.withApp { client in
            let before = try await client.get("/v1/policies").json["digest"]
            #expect(try await client.post("/v1/check", Bodies.logsStaging).json["result"] == "allow")

            // Invalid: rejected with every error; the old configuration keeps answering.
            try project.write(Starter.policy.replacingOccurrences(of: "decision: allow\n", with: "decision: alow\n"), to: "policies/default.yaml")
            let bad = try await client.execute(uri: "/v1/admin/reload", method: .post, headers: admin)
            let p = try bad.expectProblem(.unprocessableContent, "invalid_configuration")
            let errors = try #require(p["errors"]?.arrayValue)
            #expect(errors.count == 2)
            #expect(errors.allSatisfy { $0.stringValue?.contains("did you mean 'allow'?") == true })
            #expect(try await client.get("/v1/policies").json["digest"] == before)
            #expect(try await client.post("/v1/check", Bodies.logsStaging).json["result"] == "allow")

            // Valid: swapped in whole.
            try project.write(Starter.policy.replacingOccurrences(of: "environments: [dev, staging]", with: "environments: [dev]"),
                              to: "policies/default.yaml")
            let ok = try await client.execute(uri: "/v1/admin/reload", method: .post, headers: admin)
            #expect(ok.status == .ok)
            let r = try ok.json
            #expect(r["reloaded"] == true)
            #expect(r["actions"] == 3)
            #expect(r["rules"] == 4)
            #expect(r["digest"] != before)
            #expect(try await client.get("/v1/policies").json["digest"] == r["digest"])
            #expect(try await client.post("/v1/check", Bodies.logsStaging).json["result"] == "deny")
            #expect(try await client.get("/readyz").json["config_digest"] == r["digest"])

            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"agent_safe_reloads_total{outcome="ok"} 1"#))
            #expect(metrics.contains(#"agent_safe_reloads_total{outcome="rejected"} 1"#))
        }
        // Both attempts are in the audit log.
        let text = try String(contentsOfFile: project.auditPath, encoding: .utf8)
        #expect(text.contains("reload rejected (POST /v1/admin/reload)"))
        #expect(text.contains("configuration reloaded (POST /v1/admin/reload)"))
    }

    @Test func healthReadinessAndMetrics() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let health = try await client.get("/healthz")
            #expect(health.status == .ok)
            #expect(health.text == #"{"status":"ok"}"#)
            let ready = try await client.get("/readyz")
            #expect(ready.status == .ok)
            let r = try ready.json
            #expect(r["ready"] == true)
            #expect(r["problems"] == [])
            #expect(r["audit_last_seq"]?.doubleValue ?? 0 >= 1)  // config_loaded at start-up
            #expect(r["config_digest"]?.stringValue?.count == 64)

            _ = try await client.post("/v1/check", Bodies.restartDev)
            _ = try await client.post("/v1/check", Bodies.restartDevAnonymous)
            _ = try await client.post("/v1/tickets/verify", #"{"token":"x"}"#)
            _ = try await client.get("/v1/actions/restart-deployment")
            _ = try await client.get("/v1/actions/no-such-action")
            _ = try await client.get("/no/such/path")
            _ = try await client.execute(uri: "/v1/check", method: .delete)
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            #expect(text.contains("# TYPE agent_safe_decisions_total counter"))
            #expect(text.contains(#"agent_safe_decisions_total{result="allow"} 1"#))
            #expect(text.contains(#"agent_safe_decisions_total{result="deny"} 1"#))
            #expect(text.contains(#"agent_safe_ticket_verifications_total{outcome="malformed"} 1"#))
            // Every request is timed (the checks, the verification and the health probes before this one), in a
            // histogram per route template and method; anything that isn't one of our routes is "unmatched".
            func count(_ route: String, _ method: String) -> Double? {
                let prefix = #"agent_safe_request_duration_seconds_count{route="\#(route)",method="\#(method)"} "#
                return text.split(separator: "\n").first { $0.hasPrefix(prefix) }
                    .flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            #expect(text.contains("# TYPE agent_safe_request_duration_seconds histogram"))
            #expect(text.contains(#"agent_safe_request_duration_seconds_bucket{route="/v1/check",method="POST",le="+Inf"} 2"#))
            #expect(count("/v1/check", "POST") == 2)
            #expect(count("/v1/tickets/verify", "POST") == 1)
            #expect(count("/healthz", "GET") == 1)
            #expect(count("/readyz", "GET") == 1)
            // A parameterised route is labelled with its template, found or not.
            #expect(count("/v1/actions/:name", "GET") == 2)
            #expect(!text.contains("restart-deployment\",method"))
            // An unknown path and a known path with a method it doesn't serve.
            #expect(count("unmatched", "GET") == 1)
            #expect(count("unmatched", "DELETE") == 1)
            #expect(!text.contains("/no/such/path"))
            #expect(!text.contains(#"agent_safe_request_duration_seconds_count "#))  // no unlabelled series
            #expect(text.contains("agent_safe_audit_last_seq"))
            #expect(text.contains("agent_safe_audit_queue_depth"))
            #expect(text.contains("agent_safe_audit_fsyncs"))
        }
    }

    // MARK: - OpenAPI

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func document() throws -> [String: Any] {
        let text = try String(contentsOf: repoRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    @Test func openAPIDocumentIsServedAndMatchesTheRepositoryCopy() async throws {
        let docs = try String(contentsOf: Self.repoRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let resource = try String(contentsOf: Self.repoRoot.appendingPathComponent("Sources/AgentSafeServer/Resources/openapi.yaml"),
                                  encoding: .utf8)
        #expect(docs == resource, "docs/openapi.yaml and Sources/AgentSafeServer/Resources/openapi.yaml must be identical")
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let served = try await client.get("/openapi.yaml")
            #expect(served.status == .ok)
            #expect(served.headers[.contentType] == "application/yaml")
            #expect(served.text == resource)
        }
        let doc = try Self.document()
        #expect((doc["openapi"] as? String)?.hasPrefix("3.1") == true)
    }

    /// Every route of `Routes.paths` (with its methods) is in openapi.yaml, and every path there is a route.
    @Test func everyRouteIsDocumentedAndEveryDocumentedPathIsARoute() throws {
        let doc = try Self.document()
        let paths = try #require(doc["paths"] as? [String: Any])
        func openAPIPath(_ route: String) -> String {
            route.split(separator: "/", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
        }
        let routes = Dictionary(uniqueKeysWithValues: Routes.paths.map { (openAPIPath($0.key), $0.value) })
        for (path, methods) in routes {
            let item = paths[path] as? [String: Any]
            #expect(item != nil, "\(path) is not in openapi.yaml")
            for method in methods {
                #expect(item?[method.rawValue.lowercased()] != nil, "\(method) \(path) is not in openapi.yaml")
            }
            let documented = Set((item ?? [:]).keys).intersection(["get", "post", "put", "patch", "delete", "head", "options"])
            #expect(documented == Set(methods.map { $0.rawValue.lowercased() }), "\(path): documented \(documented.sorted())")
        }
        for path in paths.keys { #expect(routes[path] != nil, "\(path) is documented but not routed") }
    }

    /// The Problem schema lists every stable code the server source can produce.
    @Test func problemCodesAreDocumented() throws {
        let doc = try Self.document()
        let schemas = try #require((doc["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let problem = try #require(schemas["Problem"] as? [String: Any])
        let code = try #require((problem["properties"] as? [String: Any])?["code"] as? [String: Any])
        let documented = Set(try #require(code["enum"] as? [String]))
        let sources = ["Routes.swift", "Routes+Approvals.swift", "Routes+Execute.swift", "Controls.swift", "Body.swift", "Problem.swift"].map {
            (try? String(contentsOf: Self.repoRoot.appendingPathComponent("Sources/AgentSafeServer/\($0)"), encoding: .utf8)) ?? ""
        }.joined()
        // Literal codes: Problem(…, "code", …), .unauthorized("code", …), .forbidden("code", …), .invalid("code", …).
        let pattern = try Regex(#"(?:Problem\(\.[a-zA-Z]+, |unauthorized\(|forbidden\(|invalid\()"([a-z_]+)""#)
        var used = Set(sources.matches(of: pattern).map { String($0.output[1].substring ?? "") })
        used.formUnion(["malformed_json", "wrong_type", "missing_field", "unknown_field"])
        for code in used { #expect(documented.contains(code), "problem code '\(code)' is not in the Problem schema") }
        // Prefixed codes from token errors.
        for prefix in ["identity_", "delegation_"] {
            for c in ["malformed", "expired", "bad_signature", "unknown_key"] {
                #expect(documented.contains(prefix + c), "\(prefix + c) is not documented")
            }
        }
    }
}
