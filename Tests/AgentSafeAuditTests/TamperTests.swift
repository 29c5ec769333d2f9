import AgentSafeCore
import AgentSafeTickets
import Crypto
import Foundation
import Testing

@testable import AgentSafeAudit

/// Every way of rewriting history we know of, each caught by `AuditVerifier` (with the checkpoint key where the
/// attack is only detectable with it).
@Suite("Audit log: tampering is detected")
struct TamperTests {
    static let key = SigningKey.ecPrivate(P256.Signing.PrivateKey())
    static var ring: KeyRing { try! KeyRing([key.publicOnly!]) }

    /// 30 events with a checkpoint every 10, and a final one at close: 34 lines.
    static func signedLog() throws -> (dir: String, path: String, lines: [String]) {
        let dir = AuditFixture.directory()
        let path = dir + "/audit.jsonl"
        let log = try AuditLog(AuditLogOptions(path: path, checkpointEveryEvents: 10, checkpointEverySeconds: 0,
                                               checkpointKey: key))
        for i in 0..<35 { _ = try log.append(AuditFixture.event(i)) }
        log.close()
        return (dir, path, AuditFixture.lines(path))
    }

    func verify(_ lines: [String], at path: String, ring: KeyRing? = TamperTests.ring) -> AuditVerifier.Report {
        AuditFixture.write(lines, to: path)
        return AuditVerifier(ring: ring).verify([path])
    }

    @Test func intactLogVerifiesWithItsCheckpoints() throws {
        let (dir, path, lines) = try Self.signedLog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(lines.count == 39)  // 35 events + 3 periodic + 1 final checkpoint
        let report = verify(lines, at: path)
        #expect(report.ok, "\(String(describing: report.failure))")
        #expect(report.checkpoints == 4)
        #expect(report.unsignedTail == 0)
    }

    @Test func editingAFieldIsAHashMismatch() throws {
        let (dir, path, lines) = try Self.signedLog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var edited = lines
        edited[4] = edited[4].replacingOccurrences(of: #""decision":"allow""#, with: #""decision":"deny""#)
        let report = verify(edited, at: path, ring: nil)
        #expect(report.failure?.line == 5)
        #expect(report.failure?.reason.contains("hash mismatch") == true)
    }

    @Test func deletingALineIsASeqGap() throws {
        let (dir, path, lines) = try Self.signedLog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var edited = lines
        edited.remove(at: 3)
        let report = verify(edited, at: path, ring: nil)
        #expect(report.failure?.line == 4)
        #expect(report.failure?.reason.contains("seq gap") == true)
    }

    @Test func swappingTwoLinesIsDetected() throws {
        let (dir, path, lines) = try Self.signedLog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var edited = lines
        edited.swapAt(2, 3)
        let report = verify(edited, at: path, ring: nil)
        #expect(report.failure?.line == 3)
    }

    @Test func truncatingAfterACheckpointIsDetectedWithTheKey() throws {
        let (dir, path, lines) = try Self.signedLog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Cut the last events and the final checkpoint, keeping a prefix that ends 2 events after checkpoint 3.
        let cut = Array(lines.prefix(35))
        #expect(verify(cut, at: path, ring: nil).ok)  // undetectable without the key: the prefix is a valid chain
        let report = verify(cut, at: path)
        #expect(!report.ok)
        #expect(report.failure?.reason.contains("after the last signed checkpoint") == true)
        // A live log may be verified with --allow-tail.
        AuditFixture.write(cut, to: path)
        #expect(AuditVerifier(ring: Self.ring, allowUnsignedTail: true).verify([path]).ok)
    }

    @Test func appendingAForgedLineIsDetectedWithTheKey() throws {
        let (dir, path, lines) = try Self.signedLog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The forger computes a perfectly chained line (the hash is unkeyed)…
        let last = AuditLine.parse(Array(lines.last!.utf8))!
        let (forged, _) = AuditLine.encode(AuditFixture.event(99, action: "delete-namespace"), seq: last.seq + 1,
                                           prevHash: last.entryHash)
        let withForgery = lines + [String(decoding: forged.dropLast(), as: UTF8.self)]
        #expect(verify(withForgery, at: path, ring: nil).ok)
        // …but can't sign a checkpoint after it.
        let report = verify(withForgery, at: path)
        #expect(report.failure?.reason.contains("after the last signed checkpoint") == true)
        #expect(report.failure?.line == 40)
    }

    @Test func rewritingTheWholeChainWithoutTheKeyIsDetected() throws {
        let (dir, path, lines) = try Self.signedLog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Re-encode every event with a change, recomputing every hash and link, and re-signing checkpoints with
        // the attacker's own key.
        let attackerKey = SigningKey.ecPrivate(P256.Signing.PrivateKey(), kid: Self.key.kid)
        var prev = AuditLine.genesis
        var rewritten: [String] = []
        for (i, line) in lines.enumerated() {
            let isCheckpoint = line.contains(#""event_type":"checkpoint""#)
            let event = isCheckpoint ? Checkpoint.event(throughSeq: Int64(i), hash: prev, key: attackerKey)
                : AuditFixture.event(i, action: "delete-namespace")
            let (bytes, hash) = AuditLine.encode(event, seq: Int64(i + 1), prevHash: prev)
            rewritten.append(String(decoding: bytes.dropLast(), as: UTF8.self))
            prev = hash
        }
        #expect(verify(rewritten, at: path, ring: nil).ok)  // a consistent chain…
        let report = verify(rewritten, at: path)
        #expect(report.failure?.reason.contains("checkpoint signature refused") == true)  // …without a valid signature
        // Dropping the checkpoints altogether doesn't help either.
        let noCheckpoints = rewritten.filter { !$0.contains(#""event_type":"checkpoint""#) }
        var relinked: [String] = []
        prev = AuditLine.genesis
        for (i, _) in noCheckpoints.enumerated() {
            let (bytes, hash) = AuditLine.encode(AuditFixture.event(i), seq: Int64(i + 1), prevHash: prev)
            relinked.append(String(decoding: bytes.dropLast(), as: UTF8.self))
            prev = hash
        }
        #expect(verify(relinked, at: path).failure?.reason.contains("after the last signed checkpoint") == true)
    }

    @Test func aCheckpointMovedElsewhereIsRefused() throws {
        let (dir, _, lines) = try Self.signedLog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Lift checkpoint 1 (line 11) and replay it later: it covers another position.
        let checkpoint = try JSONValue.parse(String(lines[10].dropLast(AuditLine.suffixLength)) + "}")
        let context = checkpoint["context"]
        #expect(Checkpoint.problem(context: context, prevSeq: 25, prevHash: AuditLine.genesis, ring: Self.ring)?
            .contains("another position") == true)
        #expect(Checkpoint.problem(context: context, prevSeq: 10, prevHash: AuditLine.parse(Array(lines[9].utf8))!.entryHash,
                                   ring: Self.ring) == nil)
    }

    @Test func pythonVerifierFromTheDocsAgrees() throws {
        let (dir, path, lines) = try Self.signedLog()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = Self.pythonVerifier
        let scriptPath = dir + "/verify.py"
        try Data(script.utf8).write(to: URL(fileURLWithPath: scriptPath))
        guard let ok = try Self.python([scriptPath, path]) else { return }
        #expect(ok.status == 0, "\(ok.out)")
        var edited = lines
        edited[7] = edited[7].replacingOccurrences(of: "bot-", with: "bad-")
        AuditFixture.write(edited, to: path)
        let broken = try Self.python([scriptPath, path])!
        #expect(broken.status == 1)
        #expect(broken.out.contains("line 8"))
    }

    /// The verifier printed in docs/audit-format.md (kept identical by this test).
    static var pythonVerifier: String {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/audit-format.md")
        let text = (try? String(contentsOf: doc, encoding: .utf8)) ?? ""
        guard let start = text.range(of: "```python\n"), let end = text.range(of: "```", range: start.upperBound..<text.endIndex) else {
            return "import sys; print('docs/audit-format.md has no python block'); sys.exit(3)"
        }
        return String(text[start.upperBound..<end.lowerBound])
    }

    static func python(_ args: [String]) throws -> (status: Int32, out: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("CI=true: python3 is missing") } else {
                print("skipped: python3 is not installed")
            }
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
