import AgentSafeCore
import AgentSafeStore
import AgentSafeTickets
import Crypto
import Foundation
import Testing

@Suite("Durable single use (SQLite)")
struct SQLiteReplayStoreTests {
    static func temporaryPath() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-safe-store-\(UUID().uuidString)")
        return dir.appendingPathComponent("state.sqlite").path
    }

    static func cleanup(_ path: String) {
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    @Test func consumeOnceThenReplayed() throws {
        let path = Self.temporaryPath()
        defer { Self.cleanup(path) }
        let store = try SQLiteReplayStore(path: path)
        #expect(try store.consume(jti: "a", expiresAt: 200, now: 100))
        #expect(try !store.consume(jti: "a", expiresAt: 200, now: 101))
        #expect(try store.isConsumed(jti: "a", now: 150))
        #expect(try !store.isConsumed(jti: "b", now: 150))
        #expect(try store.consume(jti: "b", expiresAt: 200, now: 100))
    }

    @Test func survivesReopening() throws {
        let path = Self.temporaryPath()
        defer { Self.cleanup(path) }
        let ring = try KeyRing([SigningKey.ecPrivate(P256.Signing.PrivateKey())])
        // Real time: opening a store prunes what expired by the wall clock.
        let now = Int64(Date().timeIntervalSince1970)
        let token = try TicketIssuer(ring: ring).issue(
            TicketRequest(action: "restart-deployment", target: "dev/web", caller: "bot", params: [:], auditID: "evt-1"),
            now: now).token
        do {
            let verifier = TicketVerifier(ring: ring, replayGuard: try SQLiteReplayStore(path: path))
            _ = try verifier.verifyAndConsume(token, now: now + 1)
        }
        // A new process (a new store on the same file) still refuses it.
        let verifier = TicketVerifier(ring: ring, replayGuard: try SQLiteReplayStore(path: path))
        #expect(throws: TokenError(.replayed, "ticket \(try verifier.inspect(token, now: now + 2).jti) has already been used")) {
            try verifier.verifyAndConsume(token, now: now + 2)
        }
    }

    @Test func concurrentConsumersExactlyOneWins() async throws {
        let path = Self.temporaryPath()
        defer { Self.cleanup(path) }
        // Separate connections to one file, as separate processes would have.
        let stores = try (0..<8).map { _ in try SQLiteReplayStore(path: path) }
        for round in 0..<20 {
            let jti = "ticket-\(round)"
            let wins = await withTaskGroup(of: Bool.self) { group in
                for store in stores {
                    group.addTask { (try? store.consume(jti: jti, expiresAt: 10_000, now: 1)) ?? false }
                }
                var count = 0
                for await won in group where won { count += 1 }
                return count
            }
            #expect(wins == 1, "round \(round)")
        }
    }

    @Test func expiredIdsArePruned() throws {
        let path = Self.temporaryPath()
        defer { Self.cleanup(path) }
        let store = try SQLiteReplayStore(path: path, pruneEvery: 10)
        for i in 0..<100 { _ = try store.consume(jti: "old-\(i)", expiresAt: 50, now: 10) }
        #expect(try store.count() == 100)
        // Consumes after expiry prune in small batches as they go.
        for i in 0..<20 { _ = try store.consume(jti: "new-\(i)", expiresAt: 500, now: 100) }
        let afterBatches = try store.count()
        #expect(afterBatches < 120)
        // The rest of the expired rows go in one call, which says how many it removed.
        #expect(try store.pruneExpired(now: 100) == afterBatches - 20)
        #expect(try store.count() == 20)
        // An id whose record has expired can be recorded again (its ticket is expired anyway).
        #expect(try store.consume(jti: "new-0", expiresAt: 900, now: 600))
    }

    @Test func storeFileIsPrivate() throws {
        let path = Self.temporaryPath()
        defer { Self.cleanup(path) }
        _ = try SQLiteReplayStore(path: path)
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let mode = (try FileManager.default.attributesOfItem(atPath: dir)[.posixPermissions] as? Int) ?? 0
        #expect(mode & 0o077 == 0)
    }
}
