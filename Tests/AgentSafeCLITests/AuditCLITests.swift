import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The audit log through the CLI: decisions recorded before they are printed, verify/show/replay, and a writer
/// killed with SIGKILL under load losing nothing it acknowledged.
@Suite("agent-safe CLI: audit")
struct AuditCLITests {
    static let params = CLITests.params

    @Test func checkRecordsAndAuditVerifyShowReplay() async throws {
        let dir = try await CLITests.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-c", "me", "-p", Self.params], in: dir).status == 0)
        #expect(try await CLIRunner.run(["check", "restart-deployment", "-t", "prod/web", "-c", "me", "-p", Self.params], in: dir).status != 0)
        let verify = try await CLIRunner.run(["audit", "verify"], in: dir)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("OK 2 entries"))
        let show = try await CLIRunner.run(["audit", "show", "--decision", "allow", "-o", "json"], in: dir)
        #expect(show.stdout.split(separator: "\n").count == 1)
        #expect(show.stdout.contains(#""target":"dev/web""#))
        // Replay against a candidate that denies dev: the allow would change.
        let candidate = dir.appendingPathComponent("candidate")
        try FileManager.default.createDirectory(at: candidate, withIntermediateDirectories: true)
        try Data("rules:\n  - name: deny-all\n    priority: 1\n    match: {}\n    decision: deny\n    reason: frozen\n".utf8)
            .write(to: candidate.appendingPathComponent("freeze.yaml"))
        let replay = try await CLIRunner.run(["audit", "replay", "--policies", candidate.path], in: dir)
        #expect(replay.status == 2, "\(replay.stdout)\(replay.stderr)")
        #expect(replay.stdout.contains("2 decision(s) replayed against the candidate configuration: 1 would change"))
        #expect(replay.stdout.contains("allow → deny: 1"))
        // Tampering is caught and located.
        let log = dir.appendingPathComponent(".agent-safe/audit.jsonl")
        let text = try String(contentsOf: log, encoding: .utf8).replacingOccurrences(of: #""decision":"deny""#, with: #""decision":"allow""#)
        try Data(text.utf8).write(to: log)
        let broken = try await CLIRunner.run(["audit", "verify"], in: dir)
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("audit.jsonl:2: hash mismatch"))
    }

    @Test func checkpointsSignedAndVerifiedWithTheKey() async throws {
        let dir = try await CLITests.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try await CLIRunner.run(["keys", "generate", "--alg", "ES256", "--out", "keys/audit.pem"], in: dir).status == 0)
        let config = dir.appendingPathComponent("agent-safe.yaml")
        var text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "audit_log: .agent-safe/audit.jsonl\n", with: "")
        text += "audit:\n  path: .agent-safe/audit.jsonl\n  durability: always\n  checkpoint: {every_events: 2, key_file: ./keys/audit.pem}\n"
        try Data(text.utf8).write(to: config)
        for _ in 0..<3 {
            #expect(try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-c", "me", "-p", Self.params], in: dir).status == 0)
        }
        let verify = try await CLIRunner.run(["audit", "verify", "--key", "keys/audit.pem"], in: dir)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("with valid signatures"))
        let otherKey = try await CLIRunner.run(["keys", "generate", "--alg", "ES256", "--out", "keys/other.pem"], in: dir)
        #expect(otherKey.status == 0)
        let wrong = try await CLIRunner.run(["audit", "verify", "--key", "keys/other.pem", "-o", "json"], in: dir)
        #expect(wrong.status == 1)
        #expect(wrong.stdout.contains("checkpoint signature refused"))
    }

    @Test func auditShipToAFileShipperCatchesUpAndResends() async throws {
        let dir = try await CLITests.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("agent-safe.yaml")
        var text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "audit_log: .agent-safe/audit.jsonl\n", with: "")
        text += "audit:\n  path: .agent-safe/audit.jsonl\n  shippers:\n    - {name: archive, type: file, path: ./archive/a.jsonl}\n"
        try Data(text.utf8).write(to: config)
        for _ in 0..<3 {
            #expect(try await CLIRunner.run(["check", "restart-deployment", "-t", "dev/web", "-c", "me", "-p", Self.params], in: dir).status == 0)
        }
        let typo = try await CLIRunner.run(["audit", "ship", "--to", "archve"], in: dir)
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("did you mean 'archive'"))
        let first = try await CLIRunner.run(["audit", "ship", "--to", "archive"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("shipped 3 event(s) (seq 1…3)"))
        let again = try await CLIRunner.run(["audit", "ship", "--to", "archive"], in: dir)
        #expect(again.stdout.contains("nothing to ship"))
        let resend = try await CLIRunner.run(["audit", "ship", "--to", "archive", "--from-seq", "2"], in: dir)
        #expect(resend.stdout.contains("shipped 2 event(s) (seq 2…3)"))
        // The copy is the log, byte for byte (a re-send never duplicates lines in a file shipper).
        let original = try Data(contentsOf: dir.appendingPathComponent(".agent-safe/audit.jsonl"))
        let copy = try Data(contentsOf: dir.appendingPathComponent("archive/a.jsonl"))
        #expect(original == copy)
    }

    @Test func sigkillUnderLoadLosesNothingAcknowledged() async throws {
        let dir = try await CLITests.starter()
        defer { try? FileManager.default.removeItem(at: dir) }
        signal(SIGPIPE, SIG_IGN)  // the feeder writes into a pipe whose reader we kill
        let process = Process()
        process.executableURL = CLIRunner.binary
        process.arguments = ["check", "--batch", "-"]
        process.currentDirectoryURL = dir
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Feed requests from another thread, as fast as the child takes them.
        let line = Data(#"{"action":"restart-deployment","target":"dev/web","caller":"me","params":{"namespace":"web","deployment":"web"}}"#.utf8 + [0x0A])
        let writer = Thread {
            for _ in 0..<100_000 {
                do { try input.fileHandleForWriting.write(contentsOf: line) } catch { return }
            }
        }
        writer.start()
        // Collect acknowledgements (printed decisions) until a few hundred arrived, then kill -9.
        var acknowledged: [String] = []
        var buffer = Data()
        let reader = output.fileHandleForReading
        while acknowledged.count < 300 {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let nl = buffer.firstIndex(of: 0x0A) {
                let lineData = buffer[buffer.startIndex..<nl]
                buffer.removeSubrange(buffer.startIndex...nl)
                if let json = try? JSONSerialization.jsonObject(with: lineData) as? [String: Any],
                    let id = json["audit_id"] as? String { acknowledged.append(id) }
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(acknowledged.count >= 300)
        // A restart (any command that opens the writer) recovers; the chain verifies; every acknowledged id is there.
        let after = try await CLIRunner.run(["check", "get-pod-logs", "-t", "dev/web", "-c", "me", "-p", #"{"namespace":"web","pod":"web-1"}"#], in: dir)
        #expect(after.status == 0 || after.status == 2 || after.status == 3, "\(after.stderr)")
        let verify = try await CLIRunner.run(["audit", "verify"], in: dir)
        #expect(verify.status == 0, "\(verify.stdout)")
        let log = try String(contentsOf: dir.appendingPathComponent(".agent-safe/audit.jsonl"), encoding: .utf8)
        let missing = acknowledged.filter { !log.contains(#""event_id":""# + $0 + "\"") }
        #expect(missing.isEmpty, "\(missing.count) acknowledged decisions missing")
    }
}
