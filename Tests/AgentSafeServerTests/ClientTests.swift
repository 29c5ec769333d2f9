import AgentSafeClient
import AgentSafeCore
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

/// The Swift client against a real sidecar on a real socket.
@Suite("AgentSafeClient")
struct ClientTests {
    @Test func checkTicketReplayAndProblems() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp(.live) { testClient in
            let port = try #require(testClient.port)
            let client = AgentSafeClient(baseURL: "http://127.0.0.1:\(port)")
            let params: [String: JSONValue] = ["namespace": "web", "deployment": "web"]
            let allow = try await client.check(action: "restart-deployment", target: "dev/web", params: params, caller: "me")
            #expect(allow.result == "allow")
            let token = try #require(allow.ticketToken)
            let wrong = try await client.verifyTicket(token, action: "restart-deployment", target: "prod/web")
            #expect(!wrong.valid && wrong.code == "target_mismatch")
            let first = try await client.verifyTicket(token, action: "restart-deployment", target: "dev/web", params: params)
            #expect(first.valid)
            let again = try await client.verifyTicket(token, action: "restart-deployment", target: "dev/web", params: params)
            #expect(again.code == "replayed")
            let deny = try await client.check(action: "restart-deployment", target: "dev/web", params: params)
            #expect(deny.result == "deny" && deny.ticketToken == nil)
            #expect(try await client.jwks()["keys"]?.arrayValue?.count == 1)
            do {
                _ = try await client.check(action: "")
                Issue.record("an empty action must be refused")
            } catch let failure as AgentSafeClient.Failure {
                #expect(failure.status == 422)
            }
            let down = AgentSafeClient(baseURL: "http://127.0.0.1:1", timeout: .seconds(2))
            do {
                _ = try await down.check(action: "restart-deployment")
                Issue.record("a closed port must fail")
            } catch let failure as AgentSafeClient.Failure {
                #expect(failure.code == "unavailable")
            }
        }
    }
}
