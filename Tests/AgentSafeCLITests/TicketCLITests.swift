import Foundation
import Testing

/// `keys`, `ticket verify`, `token issue|delegate` and tickets on `check`, through the built binary.
@Suite("agent-safe CLI: tickets and identities")
struct TicketCLITests {
    static let params = CLITests.params

    /// A starter project with an ES256 ticket key and an HS256 identity key.
    static func project(maxDepth: Int = 2) async throws -> URL {
        let dir = try await CLITests.starter()
        #expect(try await CLIRunner.run(["keys", "generate", "--alg", "ES256", "--out", "keys/tickets.pem"], in: dir).status == 0)
        #expect(try await CLIRunner.run(["keys", "generate", "--alg", "HS256", "--out", "keys/identity.key"], in: dir).status == 0)
        let config = dir.appendingPathComponent("agent-safe.yaml")
        var text = try String(contentsOf: config, encoding: .utf8)
        text += """
            tickets:
              algorithm: ES256
              keys: [./keys/tickets.pem]
            identity:
              keys: [./keys/identity.key]
              max_delegation_depth: \(maxDepth)

            """
        try Data(text.utf8).write(to: config)
        return dir
    }

    static func ticket(in dir: URL) async throws -> String {
        let out = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-c", "me", "-p", params, "-o", "json"], in: dir)
        #expect(out.status == 0, "\(out.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
        let ticket = json?["ticket"] as? [String: Any]
        #expect(ticket?["jti"] as? String != nil)
        #expect(ticket?["expires_at"] as? String != nil)
        return ticket?["token"] as? String ?? ""
    }

    @Test func generatedKeysArePrivateAndNeverPrinted() async throws {
        let dir = try await CLITests.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await CLIRunner.run(["keys", "generate", "--alg", "HS256", "--out", "k/hs.key"], in: dir)
        #expect(out.status == 0)
        let contents = try String(contentsOf: dir.appendingPathComponent("k/hs.key"), encoding: .utf8)
        #expect(contents.hasPrefix("hex:"))
        #expect(!out.stdout.contains(String(contents.dropFirst(4).prefix(16))))
        let mode = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("k/hs.key").path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try await CLIRunner.run(["keys", "generate", "--alg", "HS256", "--out", "k/hs.key"], in: dir)
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
    }

    @Test func allowCarriesATicketThatVerifiesOnceWhenConsumed() async throws {
        let dir = try await Self.project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let token = try await Self.ticket(in: dir)
        let inspect = try await CLIRunner.run(["ticket", "verify", token, "--expect-action", "restart-deployment",
                                         "--expect-target", "dev/web", "--expect-params", Self.params], in: dir)
        #expect(inspect.status == 0, "\(inspect.stdout)\(inspect.stderr)")
        #expect(inspect.stdout.contains("inspected, not consumed"))
        let first = try await CLIRunner.run(["ticket", "verify", "-", "--consume"], in: dir, stdin: token)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        // A second consume, by a new process: the state store remembers.
        let second = try await CLIRunner.run(["ticket", "verify", token, "--consume", "-o", "json"], in: dir)
        #expect(second.status == 1)
        #expect(second.stdout.contains(#""code": "replayed""#))
        let wrongTarget = try await CLIRunner.run(["ticket", "verify", token, "--expect-target", "prod/web", "-o", "json"], in: dir)
        #expect(wrongTarget.status == 1)
        #expect(wrongTarget.stdout.contains("target_mismatch"))
        // Denials carry no ticket.
        let deny = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-p", Self.params, "-o", "json"], in: dir)
        #expect(deny.status == 2)
        #expect(!deny.stdout.contains("\"ticket\""))
        // A what-if at another time carries no ticket either.
        let whatIf = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-c", "me", "-p", Self.params,
                                        "--at", "2026-03-02T10:00:00Z", "-o", "json"], in: dir)
        #expect(whatIf.status == 0)
        #expect(!whatIf.stdout.contains("\"ticket\""))
    }

    @Test func jwksVerifiesWhatTheSidecarSigned() async throws {
        let dir = try await Self.project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let token = try await Self.ticket(in: dir)
        let jwks = try await CLIRunner.run(["keys", "jwks"], in: dir)
        #expect(jwks.status == 0)
        #expect(!jwks.stdout.contains("\"d\""))
        let file = dir.appendingPathComponent("jwks.json")
        try Data(jwks.stdout.utf8).write(to: file)
        // An executor elsewhere, with only the JWKS (no agent-safe.yaml keys).
        let elsewhere = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let verify = try await CLIRunner.run(["ticket", "verify", token, "--jwks", file.path], in: elsewhere)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        // The same JWKS over HTTP (the sidecar serves it at /.well-known/jwks.json); a 404 is a clear error.
        let server = try TinyHTTPServer(routes: ["/.well-known/jwks.json": jwks.stdout])
        defer { server.stop() }
        let overHTTP = try await CLIRunner.run(["ticket", "verify", token, "--jwks", "http://127.0.0.1:\(server.port)/.well-known/jwks.json"],
                                               in: elsewhere)
        #expect(overHTTP.status == 0, "\(overHTTP.stdout)\(overHTTP.stderr)")
        let missing = try await CLIRunner.run(["ticket", "verify", token, "--jwks", "http://127.0.0.1:\(server.port)/nothing"], in: elsewhere)
        #expect(missing.status == 1 && missing.stderr.contains("answered 404"), "\(missing.stderr)")
        let noKeys = try await CLIRunner.run(["ticket", "verify", token], in: elsewhere)
        #expect(noKeys.status == 1)
        #expect(noKeys.stderr.contains("no keys configured"))
    }

    @Test func identityTokensAndDelegation() async throws {
        let dir = try await Self.project(maxDepth: 1)
        defer { try? FileManager.default.removeItem(at: dir) }
        let parent = try await CLIRunner.run(["token", "issue", "--agent-id", "orchestrator", "--role", "deployer"], in: dir)
        #expect(parent.status == 0, "\(parent.stderr)")
        let parentToken = parent.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let child = try await CLIRunner.run(["token", "delegate", parentToken, "--child-id", "worker", "--role", "deployer"], in: dir)
        #expect(child.status == 0, "\(child.stderr)")
        let childToken = child.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let check = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "--identity-token", childToken,
                                       "-p", Self.params, "-o", "json"], in: dir)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains(#""caller": "worker""#))
        let widen = try await CLIRunner.run(["token", "delegate", parentToken, "--child-id", "w", "--role", "admin"], in: dir)
        #expect(widen.status == 1)
        #expect(widen.stderr.contains("invalid_delegation"))
        let deeper = try await CLIRunner.run(["token", "delegate", childToken, "--child-id", "w2"], in: dir)
        #expect(deeper.status == 1)
        #expect(deeper.stderr.contains("exceeds the maximum 1"))
        // A forged or garbage identity never degrades into a bare caller id (upstream does that).
        let garbage = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "--identity-token", "garbage.jwt.token",
                                         "-p", Self.params], in: dir)
        #expect(garbage.status == 1)
        #expect(garbage.stderr.contains("identity token refused"))
        // An identity token is not a ticket.
        let asTicket = try await CLIRunner.run(["ticket", "verify", childToken, "-o", "json"], in: dir)
        #expect(asTicket.status == 1)
        #expect(asTicket.stdout.contains("unknown_key") || asTicket.stdout.contains("wrong_type"))
    }

    @Test func badKeyConfigurationIsLocated() async throws {
        let dir = try await CLITests.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("agent-safe.yaml")
        try Data("hex:0011\n".utf8).write(to: dir.appendingPathComponent("short.key"))
        var text = try String(contentsOf: config, encoding: .utf8)
        text += "tickets:\n  algorithm: ES256\n  keys: [./missing.pem, ./short.key]\n"
        try Data(text.utf8).write(to: config)
        let out = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-c", "me", "-p", Self.params], in: dir)
        #expect(out.status == 1)
        #expect(out.stderr.contains("agent-safe.yaml:8:"))
        #expect(out.stderr.contains("tickets.keys[0]"))
        #expect(out.stderr.contains("does not exist"))
        #expect(out.stderr.contains("tickets.keys[1]"))
        #expect(out.stderr.contains("at least 32 bytes"))
        #expect(!out.stderr.contains("0011"))
    }

    @Test func upstreamSigningKeyStillWorks() async throws {
        let dir = try await CLITests.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("agent-safe.yaml")
        var text = try String(contentsOf: config, encoding: .utf8)
        text += "signing_key: test-signing-key-0123456789abcdef\n"
        try Data(text.utf8).write(to: config)
        let token = try await Self.ticket(in: dir)
        #expect(token.hasPrefix("eyJhbGciOiJIUzI1NiIs"))  // {"alg":"HS256",…
        #expect(try await CLIRunner.run(["ticket", "verify", token], in: dir).status == 0)
        try Data((text.replacingOccurrences(of: "test-signing-key-0123456789abcdef", with: "short")).utf8).write(to: config)
        let short = try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-c", "me", "-p", Self.params], in: dir)
        #expect(short.status == 1)
        #expect(short.stderr.contains("signing_key"))
        #expect(!short.stderr.contains("short\n"))
    }
}
