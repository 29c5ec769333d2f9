import AgentSafeCore
import AgentSafeTickets
import Crypto
import Foundation
import Testing

@testable import AgentSafeAudit

enum AuditFixture {
    static func directory() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-safe-audit-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func event(_ i: Int, action: String = "restart-deployment") -> AuditEvent {
        AuditEvent(timestamp: "2026-11-25T10:00:00Z", eventType: .decision, action: action, target: "dev/web",
                   caller: "bot-\(i % 7)", params: ["namespace": "shop", "replicas": .integer(Int64(i)), "note": "Ünïcode ✓ \"q\""],
                   decision: .allow, reason: "ok", policyMatched: "allow-dev", riskClass: .medium, effectiveRisk: .low)
    }

    static func lines(_ path: String) -> [String] {
        (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    static func write(_ lines: [String], to path: String) {
        try! Data((lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).utf8).write(to: URL(fileURLWithPath: path))
    }
}

@Suite("Audit log: writer, chain and recovery")
struct AuditLogTests {
    @Test(arguments: AuditDurability.allCases)
    func appendsChainAndVerify(_ durability: AuditDurability) throws {
        let dir = AuditFixture.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.jsonl"
        let log = try AuditLog(AuditLogOptions(path: path, durability: durability))
        var receipts: [AuditReceipt] = []
        for i in 0..<50 { receipts.append(try log.append(AuditFixture.event(i))) }
        log.close()
        #expect(receipts.map(\.seq) == Array(1...50))
        let report = AuditVerifier().verify([path])
        #expect(report.ok, "\(String(describing: report.failure))")
        #expect(report.events == 50)
        #expect(report.lastHash == receipts.last?.entryHash)
        // The documented rule, byte for byte: sha256(line without its entry_hash member) == entry_hash.
        let first = AuditFixture.lines(path)[0]
        let body = String(first.dropLast(AuditLine.suffixLength)) + "}"
        let digest = SHA256.hash(data: Array(body.utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(first.hasSuffix(#""entry_hash":""# + digest + #""}"#))
        #expect(first.hasPrefix(#"{"seq":1,"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","event_id":"#))
        // Canonical: the body re-serialises to itself.
        let value = try JSONValue.parse(body)
        #expect(value.canonicalText.count == body.count)
    }

    @Test func concurrentAppendsNeverForkTheChain() async throws {
        let dir = AuditFixture.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.jsonl"
        let log = try AuditLog(AuditLogOptions(path: path, durability: .batch))
        let seqs = try await withThrowingTaskGroup(of: Int64.self) { group in
            for i in 0..<2000 { group.addTask { try await log.append(AuditFixture.event(i)).seq } }
            var all: [Int64] = []
            for try await s in group { all.append(s) }
            return all
        }
        log.close()
        #expect(Set(seqs).count == 2000)
        #expect(seqs.max() == 2000)
        let report = AuditVerifier().verify([path])
        #expect(report.ok, "\(String(describing: report.failure))")
        #expect(report.events == 2000)
        // Group commit: far fewer fsyncs than events.
        #expect(log.currentStats.fsyncs < 2000)
    }

    @Test func reopeningContinuesTheChain() throws {
        let dir = AuditFixture.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.jsonl"
        for round in 0..<3 {
            let log = try AuditLog(AuditLogOptions(path: path))
            for i in 0..<10 { _ = try log.append(AuditFixture.event(round * 10 + i)) }
            log.close()
        }
        let report = AuditVerifier().verify([path])
        #expect(report.ok)
        #expect(report.lastSeq == 30)
    }

    @Test func rotationKeepsOneChainAcrossFiles() throws {
        let dir = AuditFixture.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.jsonl"
        let log = try AuditLog(AuditLogOptions(path: path, rotateBytes: 4_000))
        for i in 0..<60 { _ = try log.append(AuditFixture.event(i)) }
        log.close()
        let files = AuditFileSet(path: path).files()
        #expect(files.count > 3)
        #expect(files.first?.hasSuffix("audit-000000000001.jsonl") == true)
        let report = AuditVerifier().verify(files)
        #expect(report.ok, "\(String(describing: report.failure))")
        #expect(report.lastSeq == 60)
        // Dropping a middle file is a seq gap.
        var missing = files
        missing.remove(at: 1)
        #expect(AuditVerifier().verify(missing).failure?.reason.contains("seq gap") == true)
    }

    @Test func tornLastLineIsMovedAsideAndRecorded() throws {
        let dir = AuditFixture.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.jsonl"
        let log = try AuditLog(AuditLogOptions(path: path))
        for i in 0..<5 { _ = try log.append(AuditFixture.event(i)) }
        log.close()
        // A crash in the middle of a write leaves half a line.
        let handle = FileHandle(forWritingAtPath: path)!
        handle.seekToEndOfFile()
        handle.write(Data(#"{"seq":6,"prev_hash":"abc"#.utf8))
        try handle.close()
        #expect(AuditVerifier().verify([path]).failure?.reason.contains("torn") == true)
        let reopened = try AuditLog(AuditLogOptions(path: path))
        #expect(reopened.recovered?.seq == 6)
        _ = try reopened.append(AuditFixture.event(7))
        reopened.close()
        let report = AuditVerifier().verify([path])
        #expect(report.ok, "\(String(describing: report.failure))")
        #expect(report.lastSeq == 7)
        let torn = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".torn") }
        #expect(torn.count == 1)
        #expect(try String(contentsOfFile: dir + "/" + torn[0], encoding: .utf8) == #"{"seq":6,"prev_hash":"abc"#)
        let recovery = AuditFixture.lines(path)[5]
        #expect(recovery.contains(#""event_type":"recovery""#))
        #expect(recovery.contains(#""torn_bytes":25"#))
    }

    @Test func aCorruptCompleteLastLineStopsTheWriter() throws {
        let dir = AuditFixture.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.jsonl"
        AuditFixture.write(["not an audit line"], to: path)
        #expect(throws: AuditError.self) { try AuditLog(AuditLogOptions(path: path)) }
    }

    @Test func closedLogRefusesAppends() throws {
        let dir = AuditFixture.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try AuditLog(AuditLogOptions(path: dir + "/audit.jsonl"))
        log.close()
        #expect(throws: AuditError.self) { try log.append(AuditFixture.event(1)) }
    }

    @Test func sensitiveParamsAreKeyedDigests() throws {
        let redactor = AuditRedactor(key: Array(repeating: 7, count: 32))
        let action = ActionDefinition(name: "rotate-secret", parameters: [
            ActionParameter(name: "name", type: .string, required: true),
            ActionParameter(name: "value", type: .string, required: true, sensitive: true),
        ], riskClass: .high, targetTypes: ["k8s-secret"])
        let out = redactor.redact(["name": "db", "value": "hunter2"], action: action)
        #expect(out["name"] == "db")
        let digest = out["value"]?.stringValue ?? ""
        #expect(digest.hasPrefix("hmac-sha256:"))
        #expect(!digest.contains("hunter2"))
        #expect(redactor.redact(["value": "hunter2"], action: action)["value"]?.stringValue == digest)
        #expect(AuditRedactor(key: Array(repeating: 8, count: 32)).redact(["value": "hunter2"], action: action)["value"]?.stringValue != digest)
    }
}

@Suite("Audit log: one writer per log")
struct SingleWriterTests {
    @Test func aSecondWriterIsRefusedUntilTheFirstCloses() throws {
        let dir = AuditFixture.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.jsonl"
        let first = try AuditLog(AuditLogOptions(path: path))
        _ = try first.append(AuditFixture.event(1))
        #expect(throws: AuditError.self) { try AuditLog(AuditLogOptions(path: path)) }
        first.close()
        let second = try AuditLog(AuditLogOptions(path: path))
        _ = try second.append(AuditFixture.event(2))
        second.close()
        #expect(AuditVerifier().verify([path]).ok)
    }
}

@Suite("Audit line body")
struct AuditBodyTests {
    @Test func directSerialisationEqualsTheSortedObject() throws {
        var event = AuditFixture.event(3)
        event.context = ["b": 1, "a": ["z": true, "y": .null]]
        event.cumulativeRisk = 12
        event.delegationChain = ["root", "mid"]
        event.params = ["note": "quote \" backslash \\ newline \n tab \t \u{1} é ☃", "n": 1.5, "list": [1, "two"]]
        event.reason = "a reason with \"quotes\" and \u{7f}"
        event.callerRoles = ["ops", "o\"dd"]
        // Every optional field distinct, so a field written under another's key can't hide behind two nulls.
        event.callerGroups = ["g1"]
        event.target = "prod/web"
        event.jti = "jti-1"
        event.ticketID = "CHG-1"
        event.correlationID = "corr-1"
        event.policyMatched = "rule-1"
        event.decision = .requireApproval
        event.riskClass = .medium
        event.effectiveRisk = .critical
        var bytes: [UInt8] = []
        event.appendBody(to: &bytes)
        let direct = String(decoding: bytes, as: UTF8.self)
        var viaObject = ""
        for key in event.bodyFields.keys.sorted(by: { $0.utf16.lexicographicallyPrecedes($1.utf16) }) {
            viaObject += ","
            JSONValue.string(key).appendCompact(to: &viaObject)
            viaObject += ":"
            event.bodyFields[key]!.appendCompact(to: &viaObject)
        }
        #expect(direct == viaObject)
        #expect(AuditEvent.bodyKeys.count == event.bodyFields.count)
        // Every body key has its own case in appendBody's switch (none falls through to null).
        #expect(AuditEvent.bodyPlan.allSatisfy { $0.field != nil })
        #expect(AuditEvent.BodyField.allCases.count == AuditEvent.bodyKeys.count)
    }
}

@Suite("Audit appends that belong together")
struct AuditGroupAppendTests {
    @Test func eventsOfOneAppendGetConsecutiveReceiptsAndVerify() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("audit-group-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try AuditLog(AuditLogOptions(path: dir + "/audit.jsonl"))
        let first = try await log.append(AuditFixture.event(1))
        let group = try await log.append([AuditFixture.event(2), AuditFixture.event(3)])
        #expect(group.map(\.seq) == [first.seq + 1, first.seq + 2])
        // Several callers at once: each gets its own events' receipts, in its own order.
        let receipts = try await withThrowingTaskGroup(of: [AuditReceipt].self) { tasks in
            for i in 0..<20 { tasks.addTask { try await log.append([AuditFixture.event(10 + i), AuditFixture.event(100 + i)]) } }
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        for pair in receipts { #expect(pair.count == 2 && pair[1].seq == pair[0].seq + 1) }
        log.close()
        #expect(AuditVerifier().verify([dir + "/audit.jsonl"]).ok)
    }
}
