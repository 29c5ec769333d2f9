import AgentSafeAudit
import AgentSafeCore
import AgentSafeTickets
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Testing

@testable import AgentSafeServer

/// Real sockets: keep-alive, the body limit as a client sends it, graceful shutdown with a request in flight.
@Suite("Sidecar: live sockets")
struct LiveTests {
    @Test func keepAliveServesManyRequestsOnOneConnection() async throws {
        let project = try Project()
        defer { project.remove() }
        try await project.withApp(.live) { client in
            // The live test client holds a single connection.
            for _ in 0..<5 {
                let r = try await client.post("/v1/check", Bodies.restartDev)
                #expect(r.status == .ok)
                #expect(try r.json["result"] == "allow")
            }
            #expect(try await client.get("/healthz").status == .ok)
            try await client.post("/v1/check", "{").expectProblem(.badRequest, "malformed_json")
            #expect(try await client.get("/readyz").status == .ok)

            // And on a raw socket, where we can see that it is one connection: requests in sequence, then pipelined.
            let port = try #require(client.port)
            let connection = try await RawConnection.connect(port: port)
            for i in 0..<10 {
                let body = i % 2 == 0 ? Bodies.restartDev : "{\"oops\""
                try await connection.send(RawConnection.request("POST", "/v1/check", body: body))
                let response = try await connection.readResponse()
                #expect(response.status == (i % 2 == 0 ? 200 : 400))
                #expect(response.headers["connection"]?.lowercased() != "close")
            }
            let pipelined = (0..<3).map { _ in RawConnection.request("GET", "/healthz") }.joined()
            try await connection.send(pipelined)
            for _ in 0..<3 {
                let response = try await connection.readResponse()
                #expect(response.status == 200)
                #expect(response.body == #"{"status":"ok"}"#)
            }
        }
    }

    @Test func bodyLimitOnARealSocket() async throws {
        let project = try Project(.init(maxBodyBytes: 4096))
        defer { project.remove() }
        try await project.withApp(.live) { client in
            let big = #"{"action":"get-pod-logs","pad":""# + String(repeating: "z", count: 10_000) + #""}"#
            try await client.post("/v1/check", big).expectProblem(.contentTooLarge, "body_too_large")
            let port = try #require(client.port)

            // Declared too large: refused from the header.
            let declared = try await RawConnection.connect(port: port)
            try await declared.send(RawConnection.request("POST", "/v1/check", body: big))
            let r1 = try await declared.readResponse()
            #expect(r1.status == 413)
            #expect(r1.headers["content-type"] == "application/problem+json")
            #expect(r1.body.contains("body_too_large"))

            // Chunked, no length: refused once the limit is passed.
            let chunked = try await RawConnection.connect(port: port)
            var text = "POST /v1/check HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            for start in stride(from: 0, to: big.utf8.count, by: 1000) {
                let piece = String(decoding: Array(big.utf8)[start..<min(start + 1000, big.utf8.count)], as: UTF8.self)
                text += String(piece.utf8.count, radix: 16) + "\r\n" + piece + "\r\n"
            }
            text += "0\r\n\r\n"
            try await chunked.send(text)
            let r2 = try await chunked.readResponse()
            #expect(r2.status == 413)
            #expect(r2.body.contains("body_too_large"))

            // The server is fine afterwards.
            let fresh = try await RawConnection.connect(port: port)
            try await fresh.send(RawConnection.request("POST", "/v1/check", body: Bodies.restartDev))
            #expect(try await fresh.readResponse().status == 200)
        }
    }

    /// SIGTERM's path without the signal: a request is half sent, shutdown begins, the rest arrives, and the
    /// request is still answered; then the audit log closes with a signed checkpoint.
    @Test func gracefulShutdownFinishesTheRequestInFlight() async throws {
        let project = try Project(.init(checkpoint: true))
        defer { project.remove() }
        let port = freePort()
        let app = try project.app(port: port)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: Quiet.logger))
        let response = try await withThrowingTaskGroup(of: RawConnection.Response?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            let connection = try await RawConnection.connect(port: port)
            let idle = try await RawConnection.connect(port: port)
            try await idle.send(RawConnection.request("GET", "/healthz"))
            #expect(try await idle.readResponse().status == 200)
            // Warm up (and a decision to audit), then start a second request and stop half way through its body.
            try await connection.send(RawConnection.request("POST", "/v1/check", body: Bodies.restartDev))
            #expect(try await connection.readResponse().status == 200)
            let request = RawConnection.request("POST", "/v1/check", body: Bodies.logsStaging)
            let cut = request.utf8.count - 20
            try await connection.send(Array(request.utf8)[0..<cut].map { $0 })
            try await Task.sleep(for: .milliseconds(200))
            await group.triggerGracefulShutdown()
            try await Task.sleep(for: .milliseconds(300))
            try await connection.send(Array(request.utf8)[cut...].map { $0 })
            let response = try await connection.readResponse()
            // The server closes the connection once the request is done, and the idle keep-alive one too.
            #expect(await connection.isClosed())
            #expect(await idle.isClosed())
            try await tasks.waitForAll()
            return response
        }
        #expect(response.status == 200)
        #expect(response.body.contains(#""result":"allow""#))
        let auditID = try #require(try JSONValue.parse(response.body)["audit_id"]?.stringValue)

        let report = AuditVerifier(ring: try KeyRing([project.checkpointKey!])).verify(AuditFileSet(path: project.auditPath).files())
        #expect(report.ok, "\(String(describing: report.failure))")
        #expect(report.unsignedTail == 0)
        let lines = try String(contentsOfFile: project.auditPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.last?.contains(#""event_type":"checkpoint""#) == true)
        #expect(lines.contains { $0.contains(#""event_id":"\#(auditID)""#) })
        // Nothing listens any more.
        #expect((try? await RawConnection.connect(port: port, attempts: 1)) == nil)
    }
}
