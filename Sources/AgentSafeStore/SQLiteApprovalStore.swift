import AgentSafeControl
import AgentSafeCore
import Foundation
import GRDB
import Synchronization

/// Approval requests in `approvals.sqlite` (docs/approvals.md). Each transition is one conditional `UPDATE`
/// (`… WHERE status = 'pending' AND expires_at >= now`, `… WHERE ticket_issued_at IS NULL`), so it happens once
/// whatever the number of threads or processes racing for it.
public final class SQLiteApprovalStore: ApprovalStore, @unchecked Sendable {
    public let path: String
    private let queue: DatabaseQueue
    /// A second, read-only connection for ``pendingRequest(fingerprint:now:)``: in WAL mode a reader never waits
    /// for the writer, and this one is set to fail at once rather than wait if SQLite ever says busy.
    private let lookup: DatabaseQueue

    public init(path: String, durabilityFull: Bool = false) throws {
        self.path = path
        queue = try StateFile.open(path: path, synchronousFull: durabilityFull)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-approvals") { db in
            try db.execute(sql: """
                CREATE TABLE approvals (
                    id TEXT PRIMARY KEY NOT NULL,
                    status TEXT NOT NULL,
                    caller TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    resolved_at INTEGER,
                    resolved_by TEXT,
                    resolution_reason TEXT,
                    ticket_issued_at INTEGER,
                    ticket_jti TEXT,
                    body TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX approvals_status_expiry ON approvals(status, expires_at);
                CREATE INDEX approvals_created ON approvals(created_at);
                """)
        }
        migrator.registerMigration("v2-approval-fingerprints") { db in
            try db.execute(sql: """
                ALTER TABLE approvals ADD COLUMN fingerprint TEXT;
                CREATE INDEX approvals_fingerprint ON approvals(fingerprint, status);
                CREATE INDEX approvals_caller_status ON approvals(caller, status);
                CREATE INDEX approvals_resolved ON approvals(resolved_at);
                """)
        }
        // v3: the two per-request lookups get indexes SQLite's planner picks without statistics. With v2's
        // (fingerprint, status) and (caller, status) it chose (status, expires_at) instead, scanning every pending
        // request on each retried or new require_approval (4.4 ms with 5,000 pending; Benchmarks, ControlBenchmarks).
        migrator.registerMigration("v3-pending-lookup-indexes") { db in
            try db.execute(sql: """
                DROP INDEX approvals_fingerprint;
                CREATE INDEX approvals_fingerprint_pending ON approvals(fingerprint, status, expires_at);
                DROP INDEX approvals_caller_status;
                CREATE INDEX approvals_caller_pending ON approvals(caller, status, expires_at);
                """)
        }
        // v4: `GET /v1/approvals?status=…` lists the newest of one status; with only (status, expires_at) that sorted every
        // request of the status (87 ms with 200,000 pending), with this index it reads `limit` rows.
        migrator.registerMigration("v4-list-by-status-index") { db in
            try db.execute(sql: "CREATE INDEX approvals_status_created ON approvals(status, created_at, id)")
        }
        try migrator.migrate(queue)
        var readOnly = Configuration()
        readOnly.readonly = true
        readOnly.busyMode = .immediateError
        lookup = try DatabaseQueue(path: path, configuration: readOnly)
    }

    /// The newest pending, unexpired request with this fingerprint, read without taking the write lock: what a
    /// retried request reuses. `nil` when there is none, or when the read failed for any reason (the caller then
    /// goes through ``createOrReuse(_:maxPendingPerCaller:now:)``, which looks again inside its transaction).
    public func pendingRequest(fingerprint: String, now: Int64) -> ApprovalRequest? {
        // One statement is one read transaction (a consistent snapshot) without GRDB's BEGIN … COMMIT around it.
        try? lookup.inDatabase { db -> ApprovalRequest? in
            try Row.fetchOne(db.cachedStatement(sql: Self.pendingByFingerprint), arguments: [fingerprint, now]).flatMap(Self.request)
        }
    }

    /// The newest pending, unexpired request with a fingerprint (index `approvals_fingerprint_pending`).
    static let pendingByFingerprint = """
        SELECT \(columns) FROM approvals WHERE fingerprint = ? AND status = 'pending' AND expires_at >= ?
        ORDER BY created_at DESC LIMIT 1
        """
    /// The newest requests of one status (index `approvals_status_created`).
    static let listByStatus = "SELECT \(columns) FROM approvals WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?"
    /// The newest requests (index `approvals_created`, which holds the key `id` too).
    static let listAll = "SELECT \(columns) FROM approvals ORDER BY created_at DESC, id DESC LIMIT ?"
    /// A caller's pending, unexpired requests (index `approvals_caller_pending`, covering).
    static let pendingCount = "SELECT COUNT(*) FROM approvals WHERE caller = ? AND status = 'pending' AND expires_at >= ?"

    public func createOrReuse(_ r: ApprovalRequest, maxPendingPerCaller: Int, now: Int64) throws -> ApprovalCreation {
        try queue.write { db in
            // Cached statements: compiled once per connection, not per request.
            if let fingerprint = r.fingerprint,
                let existing = try Row.fetchOne(db.cachedStatement(sql: Self.pendingByFingerprint),
                                                arguments: [fingerprint, now]).flatMap(Self.request)
            {
                return .existing(existing)
            }
            let pending = try Int.fetchOne(db.cachedStatement(sql: Self.pendingCount), arguments: [r.caller, now]) ?? 0
            if pending >= maxPendingPerCaller { return .limitReached(pending: pending) }
            try db.cachedStatement(sql: """
                INSERT INTO approvals(id, status, caller, created_at, expires_at, body, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [r.id, r.status.rawValue, r.caller, r.createdAt, r.expiresAt, Self.bodyText(r), r.fingerprint])
            return .created(r)
        }
    }

    @discardableResult
    public func prune(resolvedBefore before: Int64) throws -> Int {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM approvals WHERE status != 'pending' AND resolved_at < ?", arguments: [before])
            return db.changesCount
        }
    }

    static let columns = "id, status, created_at, expires_at, resolved_at, resolved_by, resolution_reason, ticket_issued_at, ticket_jti, body, fingerprint"

    public func create(_ r: ApprovalRequest) throws {
        let body = Self.bodyText(r)
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO approvals(id, status, caller, created_at, expires_at, body) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [r.id, r.status.rawValue, r.caller, r.createdAt, r.expiresAt, body])
        }
    }

    public func get(_ id: String) throws -> ApprovalRequest? {
        try queue.read { db in try Self.fetch(db, id) }
    }

    public func list(status: ApprovalStatus?, limit: Int) throws -> [ApprovalRequest] {
        try queue.read { db in
            let rows: [Row]
            if let status {
                rows = try Row.fetchAll(db, sql: Self.listByStatus, arguments: [status.rawValue, limit])
            } else {
                rows = try Row.fetchAll(db, sql: Self.listAll, arguments: [limit])
            }
            return rows.compactMap(Self.request)
        }
    }

    public func resolve(_ id: String, approve: Bool, by approver: String, reason: String?, now: Int64) throws -> ApprovalResolution {
        try queue.write { db in
            try db.execute(sql: """
                UPDATE approvals SET status = ?, resolved_at = ?, resolved_by = ?, resolution_reason = ?
                WHERE id = ? AND status = 'pending' AND expires_at >= ?
                """, arguments: [approve ? "approved" : "denied", now, approver, reason, id, now])
            let changed = db.changesCount == 1
            guard let request = try Self.fetch(db, id) else { return .notFound }
            return changed ? .resolved(request) : .notPending(Self.shown(request, now: now).status)
        }
    }

    public func claimTicket(_ id: String, now: Int64, fetchWindowSeconds: Int64) throws -> TicketClaim {
        try queue.write { db in
            try db.execute(sql: """
                UPDATE approvals SET ticket_issued_at = ?
                WHERE id = ? AND status = 'approved' AND ticket_issued_at IS NULL AND resolved_at + ? >= ?
                """, arguments: [now, id, fetchWindowSeconds, now])
            let claimed = db.changesCount == 1
            guard let fetched = try Self.fetch(db, id) else { return .notFound }
            let request = Self.shown(fetched, now: now)
            if claimed { return .claimed(request) }
            switch request.status {
            case .approved:
                return request.ticketIssuedAt != nil ? .alreadyIssued(request) : .fetchWindowPassed(request)
            default:
                return .notApproved(request)
            }
        }
    }

    public func attachTicket(id: String, jti: String) throws {
        try queue.write { db in try db.execute(sql: "UPDATE approvals SET ticket_jti = ? WHERE id = ?", arguments: [jti, id]) }
    }

    public func releaseClaim(id: String) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE approvals SET ticket_issued_at = NULL, ticket_jti = NULL WHERE id = ?", arguments: [id])
        }
    }

    public func expireDue(now: Int64) throws -> [ApprovalRequest] {
        try queue.write { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM approvals WHERE status = 'pending' AND expires_at < ? LIMIT 1000",
                                          arguments: [now])
            var out: [ApprovalRequest] = []
            for id in ids {
                try db.execute(sql: "UPDATE approvals SET status = 'expired', resolved_at = ?, resolved_by = 'system' WHERE id = ? AND status = 'pending'",
                               arguments: [now, id])
                if db.changesCount == 1, let r = try Self.fetch(db, id) { out.append(r) }
            }
            return out
        }
    }

    // MARK: - Rows

    /// A pending request past its expiry, as callers see it: `expired`. Only ``expireDue(now:)`` changes the row,
    /// so that every expiry is returned to the caller that audits it.
    static func shown(_ r: ApprovalRequest, now: Int64) -> ApprovalRequest {
        guard r.status == .pending, r.expiresAt < now else { return r }
        var out = r
        out.status = .expired
        return out
    }

    static func fetch(_ db: Database, _ id: String) throws -> ApprovalRequest? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(columns) FROM approvals WHERE id = ?"), arguments: [id]).flatMap(request)
    }

    static func body(_ r: ApprovalRequest) -> JSONValue {
        func opt(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        return .object([
            "audit_id": .string(r.auditID), "action": .string(r.action), "target": opt(r.target), "caller": .string(r.caller),
            "principal": .string(r.principal), "caller_roles": .array(r.callerRoles.map(JSONValue.string)),
            "delegation_chain": .array(r.delegationChain.map(JSONValue.string)), "params": .object(r.params),
            "risk_class": .string(r.riskClass.rawValue), "effective_risk": .string(r.effectiveRisk.rawValue),
            "policy_matched": opt(r.policyMatched), "reason": .string(r.reason), "code": .string(r.code),
            "change_ticket": opt(r.changeTicket), "correlation_id": opt(r.correlationID),
            "cumulative_risk": r.cumulativeRisk.map(JSONValue.number) ?? .null,
        ])
    }

    static func bodyText(_ r: ApprovalRequest) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        body(r).appendCanonical(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Requests parsed from their stored bodies, by body text: a body never changes once written (status and
    /// resolution live in columns), so a retrying agent's reused request is not parsed again on every ask.
    /// Content-addressed, so it is right whichever store or process wrote the row; bounded by emptying it.
    private static let parsedBodies = Mutex<[String: ApprovalRequest]>([:])
    private static let parsedBodiesLimit = 512

    /// A row of `SELECT \(columns)`, read by position in ``columns`` (a lookup by name compares names per column).
    static func request(_ row: Row) -> ApprovalRequest? {
        let text: String = row[9]
        guard var r = parsedBodies.withLock({ $0[text] }) ?? parse(body: text) else { return nil }
        guard let status = ApprovalStatus(rawValue: row[1]) else { return nil }
        r.id = row[0]
        r.status = status
        r.createdAt = row[2]
        r.expiresAt = row[3]
        r.resolvedAt = row[4]
        r.resolvedBy = row[5]
        r.resolutionReason = row[6]
        r.ticketIssuedAt = row[7]
        r.ticketJTI = row[8]
        r.fingerprint = row[10]
        return r
    }

    /// The fields of a request that its body holds (the column fields are placeholders), remembered.
    static func parse(body text: String) -> ApprovalRequest? {
        guard case .object(let b)? = try? JSONValue.parse(text),
            let risk = b["risk_class"]?.stringValue.flatMap(RiskClass.init(rawValue:)),
            let effective = b["effective_risk"]?.stringValue.flatMap(RiskClass.init(rawValue:))
        else { return nil }
        func strings(_ k: String) -> [String] { b[k]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        let r = ApprovalRequest(
            id: "", auditID: b["audit_id"]?.stringValue ?? "", action: b["action"]?.stringValue ?? "",
            target: b["target"]?.stringValue, caller: b["caller"]?.stringValue ?? "",
            principal: b["principal"]?.stringValue ?? "", callerRoles: strings("caller_roles"),
            delegationChain: strings("delegation_chain"), params: b["params"]?.objectValue ?? [:], riskClass: risk,
            effectiveRisk: effective, policyMatched: b["policy_matched"]?.stringValue, reason: b["reason"]?.stringValue ?? "",
            code: b["code"]?.stringValue ?? "policy", changeTicket: b["change_ticket"]?.stringValue,
            correlationID: b["correlation_id"]?.stringValue, cumulativeRisk: b["cumulative_risk"]?.doubleValue,
            status: .pending, createdAt: 0, expiresAt: 0)
        parsedBodies.withLock { cache in
            if cache.count >= parsedBodiesLimit { cache.removeAll(keepingCapacity: true) }
            cache[text] = r
        }
        return r
    }
}
