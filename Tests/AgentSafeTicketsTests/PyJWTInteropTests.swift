import AgentSafeCore
import Crypto
import Foundation
import Testing

@testable import AgentSafeTickets

/// Our tickets verified by PyJWT, the library upstream's `TicketValidator` is built on, with the same checks that
/// validator makes (HS256/ES256 pinned, issuer, required claims, `type`).
@Suite("Interop with PyJWT")
struct PyJWTInteropTests {
    static let script = #"""
import json, sys, jwt
token, alg, key_path, issuer = sys.argv[1:5]
key = open(key_path, "rb").read()
required = ["type", "action", "target", "caller", "audit_id", "nonce", "iss", "iat", "exp"]
claims = jwt.decode(token, key, algorithms=[alg], issuer=issuer, options={"require": required})
assert claims["type"] == "execution-ticket", "Token is not an execution ticket"
print(json.dumps(claims, sort_keys=True))
"""#

    /// Runs python3 with PyJWT; `nil` (and a printed reason, or a failure under CI) when it isn't available.
    static func python(_ arguments: [String]) throws -> (status: Int32, out: String, err: String)? {
        let probe = try run(["python3", "-c", "import jwt, cryptography"])
        if probe.status != 0 {
            let reason = "python3 with pyjwt and cryptography is not installed (python3 -m pip install pyjwt cryptography)"
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("CI=true: \(reason)")
            } else {
                print("skipped: \(reason)")
            }
            return nil
        }
        return try run(["python3"] + arguments)
    }

    static func run(_ argv: [String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static func temporaryFile(_ contents: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("agent-safe-\(UUID().uuidString)")
        try Data(contents.utf8).write(to: url)
        return url
    }

    @Test func hs256TicketVerifiesWithPyJWT() throws {
        let secret = "a-shared-secret-of-at-least-32-bytes!"
        let key = try SigningKey.hmac(Array(secret.utf8))
        let now = Int64(Date().timeIntervalSince1970)
        let ticket = try TicketIssuer(ring: try KeyRing([key])).issue(Keys.request(), now: now)
        let keyFile = try Self.temporaryFile(secret)
        let scriptFile = try Self.temporaryFile(Self.script)
        defer { try? FileManager.default.removeItem(at: keyFile); try? FileManager.default.removeItem(at: scriptFile) }
        guard let result = try Self.python([scriptFile.path, ticket.token, "HS256", keyFile.path, "agent-safe"]) else { return }
        #expect(result.status == 0, "\(result.err)")
        let claims = try JSONValue.parse(result.out.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(claims["jti"]?.stringValue == ticket.jti)
        #expect(claims["params"] == .object(Keys.params))
        #expect(claims["params_sha256"]?.stringValue == TicketClaims.paramsDigest(Keys.params))
    }

    @Test func es256TicketVerifiesWithPyJWT() throws {
        let privateKey = P256.Signing.PrivateKey()
        let now = Int64(Date().timeIntervalSince1970)
        let ticket = try TicketIssuer(ring: try KeyRing([.ecPrivate(privateKey)])).issue(Keys.request(), now: now)
        let keyFile = try Self.temporaryFile(privateKey.publicKey.pemRepresentation)
        let scriptFile = try Self.temporaryFile(Self.script)
        defer { try? FileManager.default.removeItem(at: keyFile); try? FileManager.default.removeItem(at: scriptFile) }
        guard let result = try Self.python([scriptFile.path, ticket.token, "ES256", keyFile.path, "agent-safe"]) else { return }
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains(ticket.jti))
    }

    @Test func pyJWTRefusesATamperedTicket() throws {
        let secret = "a-shared-secret-of-at-least-32-bytes!"
        let now = Int64(Date().timeIntervalSince1970)
        let ticket = try TicketIssuer(ring: try KeyRing([try SigningKey.hmac(Array(secret.utf8))])).issue(Keys.request(), now: now)
        let parts = Keys.segments(ticket.token)
        let forged = Keys.payloadText(ticket.token).replacingOccurrences(of: "prod/shop-web", with: "prod/shop-db")
        let tampered = parts[0] + "." + Base64URL.encode(Array(forged.utf8)) + "." + parts[2]
        let keyFile = try Self.temporaryFile(secret)
        let scriptFile = try Self.temporaryFile(Self.script)
        defer { try? FileManager.default.removeItem(at: keyFile); try? FileManager.default.removeItem(at: scriptFile) }
        guard let result = try Self.python([scriptFile.path, tampered, "HS256", keyFile.path, "agent-safe"]) else { return }
        #expect(result.status != 0)
        #expect(result.err.contains("Signature verification failed"))
    }
}
