import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `agent-safe approvals` against a running `agent-safe serve`, both the built binary.
@Suite("agent-safe CLI: approvals through a live sidecar")
struct ApprovalsCLITests {
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                _ = bind(fd, p, len)
                return getsockname(fd, p, &len)
            }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func http(_ method: String, _ url: String, body: String? = nil) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    @Test func anApproverResolvesWithTheCLIAndTheRequesterFetchesOneTicket() async throws {
        let dir = try await CLITests.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("keys"), withIntermediateDirectories: true)
        try Data("alice-approver-token-0123456789\n".utf8).write(to: dir.appendingPathComponent("keys/alice.token"))
        let config = dir.appendingPathComponent("agent-safe.yaml")
        var text = try String(contentsOf: config, encoding: .utf8)
        text += "\napprovals:\n  approvers:\n    - {name: alice, token_file: ./keys/alice.token}\n"
        try Data(text.utf8).write(to: config)

        let port = Self.freePort()
        let base = "http://127.0.0.1:\(port)"
        let serve = Process()
        serve.executableURL = CLIRunner.binary
        serve.arguments = ["serve", "--port", String(port)]
        serve.currentDirectoryURL = dir
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        var ready = false
        for _ in 0..<100 where !ready {
            ready = (try? await Self.http("GET", base + "/healthz").0) == 200
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(ready, "the sidecar did not start")

        let (_, asked) = try await Self.http("POST", base + "/v1/check", body: #"{"action":"scale-deployment","target":"prod/web","caller":{"agent_id":"deploy-bot","roles":["deployer"]},"params":{"namespace":"web","deployment":"web","replicas":3}}"#)
        #expect(asked["result"] as? String == "require_approval", "\(asked)")
        let id = try #require((asked["approval"] as? [String: Any])?["id"] as? String)

        let common = ["--url", base, "--token-file", "keys/alice.token"]
        let list = try await CLIRunner.run(["approvals", "list"] + common, in: dir)
        #expect(list.status == 0 && list.stdout.contains(id) && list.stdout.contains("pending"), "\(list.stdout)\(list.stderr)")
        let show = try await CLIRunner.run(["approvals", "show", id] + common, in: dir)
        #expect(show.status == 0 && show.stdout.contains("scale-deployment"))
        let noToken = try await CLIRunner.run(["approvals", "list", "--url", base], in: dir)
        #expect(noToken.status == 1 && noToken.stderr.contains("an approver token is needed"))
        let approve = try await CLIRunner.run(["approvals", "approve", id, "--reason", "CHG-1 reviewed"] + common, in: dir)
        #expect(approve.status == 0 && approve.stdout.contains("approved \(id) as alice"), "\(approve.stdout)\(approve.stderr)")
        let twice = try await CLIRunner.run(["approvals", "deny", id, "--reason", "late"] + common, in: dir)
        #expect(twice.status == 1 && twice.stderr.contains("approval_not_pending"))

        let (_, first) = try await Self.http("GET", base + "/v1/approvals/\(id)")
        #expect(first["ticket_status"] as? String == "issued" && first["ticket"] != nil)
        let (_, second) = try await Self.http("GET", base + "/v1/approvals/\(id)")
        #expect(second["ticket_status"] as? String == "already_issued" && second["ticket"] == nil)

        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
        let verify = try await CLIRunner.run(["audit", "verify"], in: dir)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }
}
