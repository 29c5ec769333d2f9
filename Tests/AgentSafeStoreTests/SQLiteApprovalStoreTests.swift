import AgentSafeControl
import AgentSafeCore
import Foundation
import GRDB
import Testing

@testable import AgentSafeStore

@Suite("Approval requests (SQLite)")
struct SQLiteApprovalStoreTests {
    static let now: Int64 = 1_800_000_000

    static func request(caller: String, fingerprint: String, createdAt: Int64 = now - 60, ttl: Int64 = 3600) -> ApprovalRequest {
        var r = ApprovalRequest(
            id: ApprovalRequest.newID(), auditID: EventID.random(), action: "update-image", target: "prod/web", caller: caller,
            principal: caller, callerRoles: ["deployer"], params: ["image": "web:2"], riskClass: .high, effectiveRisk: .high,
            policyMatched: "require-approval", reason: "Production changes require approval", code: "policy",
            createdAt: createdAt, expiresAt: createdAt + ttl)
        r.fingerprint = fingerprint
        return r
    }

    /// A store with `count` requests from 20 callers, every other one resolved.
    static func filled(_ path: String, count: Int) throws -> SQLiteApprovalStore {
        let store = try SQLiteApprovalStore(path: path)
        for i in 0..<count {
            let r = request(caller: "bot-\(i % 20)", fingerprint: "fp-\(i)")
            _ = try store.createOrReuse(r, maxPendingPerCaller: 1_000_000, now: now - 60)
            if i % 2 == 0 { _ = try store.resolve(r.id, approve: false, by: "alice", reason: nil, now: now - 30) }
        }
        return store
    }

    @Test func aRetriedRequestReusesTheNewestPendingOneAndTheLimitCountsPendingOnly() throws {
        let path = SQLiteReplayStoreTests.temporaryPath()
        defer { SQLiteReplayStoreTests.cleanup(path) }
        let store = try Self.filled(path, count: 40)
        let first = Self.request(caller: "bot-x", fingerprint: "same", createdAt: Self.now - 100)
        guard case .created = try store.createOrReuse(first, maxPendingPerCaller: 2, now: Self.now) else {
            Issue.record("not created"); return
        }
        // The same request again: the pending one, found by the read-only lookup and inside the write transaction.
        #expect(store.pendingRequest(fingerprint: "same", now: Self.now)?.id == first.id)
        guard case .existing(let existing) = try store.createOrReuse(Self.request(caller: "bot-x", fingerprint: "same"),
                                                                     maxPendingPerCaller: 2, now: Self.now) else {
            Issue.record("not reused"); return
        }
        #expect(existing.id == first.id && existing.params == ["image": "web:2"] && existing.status == .pending)
        // Expired: neither finds it.
        #expect(store.pendingRequest(fingerprint: "same", now: Self.now + 4000) == nil)
        // From the fill, bot-1 has requests 1 and 21, both pending (the even ones were resolved): a third is refused
        // at a limit of 2.
        let third = try store.createOrReuse(Self.request(caller: "bot-1", fingerprint: "new"), maxPendingPerCaller: 2, now: Self.now)
        guard case .limitReached(let pending) = third else { Issue.record("limit not applied: \(third)"); return }
        #expect(pending == 2)
    }

    /// The two lookups every require_approval makes use their own indexes: SQLite's planner, without statistics,
    /// picked (status, expires_at) for both under the v2 indexes and scanned every pending request.
    @Test func theRequestPathLookupsUseTheirIndexes() throws {
        let path = SQLiteReplayStoreTests.temporaryPath()
        defer { SQLiteReplayStoreTests.cleanup(path) }
        _ = try Self.filled(path, count: 200)
        let db = try DatabaseQueue(path: path)
        func plan(_ sql: String, _ arguments: StatementArguments = ["x", Self.now]) throws -> String {
            try db.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments)
                    .map { $0["detail"] as String }.joined(separator: "\n")
            }
        }
        let byFingerprint = try plan(SQLiteApprovalStore.pendingByFingerprint)
        #expect(byFingerprint.contains("USING INDEX approvals_fingerprint_pending (fingerprint=? AND status=? AND expires_at>?)"),
                "\(byFingerprint)")
        let count = try plan(SQLiteApprovalStore.pendingCount)
        #expect(count.contains("USING COVERING INDEX approvals_caller_pending (caller=? AND status=? AND expires_at>?)"), "\(count)")
        // The approvers' listings read `limit` rows in index order: no sort of every row of a status.
        let byStatus = try plan(SQLiteApprovalStore.listByStatus)
        #expect(byStatus.contains("approvals_status_created (status=?)") && !byStatus.contains("TEMP B-TREE"), "\(byStatus)")
        let all = try plan(SQLiteApprovalStore.listAll, [10])
        #expect(all.contains("approvals_created") && !all.contains("TEMP B-TREE"), "\(all)")
    }

    @Test func listingsAreNewestFirst() throws {
        let path = SQLiteReplayStoreTests.temporaryPath()
        defer { SQLiteReplayStoreTests.cleanup(path) }
        let store = try SQLiteApprovalStore(path: path)
        var ids: [String] = []
        for i in 0..<6 {
            let r = Self.request(caller: "bot", fingerprint: "fp-\(i)", createdAt: Self.now - 100 + Int64(i / 2))
            _ = try store.createOrReuse(r, maxPendingPerCaller: 100, now: Self.now - 100)
            ids.append(r.id)
            if i == 4 { _ = try store.resolve(r.id, approve: true, by: "alice", reason: nil, now: Self.now - 50) }
        }
        // Newest first; within one second, by id descending.
        func order(_ indices: [Int]) -> [String] {
            indices.map { ids[$0] }.sorted { a, b in
                let (ia, ib) = (ids.firstIndex(of: a)! / 2, ids.firstIndex(of: b)! / 2)
                return ia != ib ? ia > ib : a > b
            }
        }
        #expect(try store.list(status: nil, limit: 10).map(\.id) == order([0, 1, 2, 3, 4, 5]))
        #expect(try store.list(status: .pending, limit: 3).map(\.id) == Array(order([0, 1, 2, 3, 5]).prefix(3)))
        #expect(try store.list(status: .approved, limit: 10).map(\.id) == [ids[4]])
    }
}
