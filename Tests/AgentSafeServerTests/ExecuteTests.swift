import AgentSafeCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentSafeServer

/// POST /v1/execute: the runner on the sidecar.
@Suite("Sidecar: execute")
struct ExecuteTests {
    @Test func aDryRunShowsTheKubectlCallAndSpendsTheTicket() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp { client in
            let d = try await client.post("/v1/check", Bodies.restartDev).json
            let token = try #require(d["ticket"]?["token"]?.stringValue)
            let body = #"{"token":"\#(token)","params":{"namespace":"web","deployment":"web"},"dry_run":true}"#
            let run = try await client.post("/v1/execute", body).json
            #expect(run["status"] == "dry_run" && run["code"] == "ok" && run["executor"] == "dry-run")
            #expect(run["decision_audit_id"] == d["audit_id"])
            let argv = try #require(run["calls"]?.arrayValue?.first?["argv"]?.arrayValue?.compactMap { $0.stringValue })
            #expect(argv.first == "kubectl" && argv.contains("restart") && argv.contains("deployment/web"))
            #expect(run["audit_recorded"] == true)
            // Spent: the same ticket again is refused, and so is a ticket for other params.
            let again = try await client.post("/v1/execute", body).json
            #expect(again["status"] == "refused" && again["code"] == "ticket_replayed")
            let d2 = try await client.post("/v1/check", Bodies.restartDev).json
            let other = #"{"token":"\#(d2["ticket"]?["token"]?.stringValue ?? "")","params":{"namespace":"web","deployment":"api"}}"#
            #expect(try await client.post("/v1/execute", other).json["code"] == "ticket_params_mismatch")
            // No executor enabled: only dry runs.
            let d3 = try await client.post("/v1/check", Bodies.restartDev).json
            let real = #"{"token":"\#(d3["ticket"]?["token"]?.stringValue ?? "")","params":{"namespace":"web","deployment":"web"}}"#
            let refused = try await client.post("/v1/execute", real).json
            #expect(refused["status"] == "refused" && refused["code"] == "unsupported_action")
            try await client.post("/v1/execute", #"{"params":{}}"#).expectProblem(.badRequest, "missing_field")
        }
        let audit = try String(contentsOfFile: project.auditPath, encoding: .utf8)
        #expect(audit.components(separatedBy: #""event_type":"execution""#).count - 1 == 4)
    }
}
