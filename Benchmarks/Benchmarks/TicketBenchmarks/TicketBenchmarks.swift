// Ticket benchmarks (issue 3, section 9): issue and verify per algorithm, consume against SQLite (flat with
// 1,000,000 stored ids), and the same sign + verify with vapor/jwt-kit for comparison.
//
// Targets on the 2-core reference machine: HS256 issue + verify ≤ 10 µs; ES256 issue ≤ 35 µs, verify ≤ 80 µs;
// consume ≤ 50 µs amortised. Figures are recorded in docs/performance.md.

import AgentSafeCore
import AgentSafeStore
import AgentSafeTickets
import Benchmark
import Crypto
import Foundation
import JWTKit

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )
    let hs = try! SigningKey.hmac(Array("benchmark-hmac-key-of-at-least-32-bytes!".utf8))
    let es = SigningKey.ecPrivate(P256.Signing.PrivateKey())
    let now = Int64(Date().timeIntervalSince1970)
    let request = TicketRequest(
        action: "scale-deployment", target: "prod/shop-web", caller: "deploy-bot",
        params: ["namespace": "shop", "deployment": "web", "replicas": 3], auditID: "evt-0123456789abcdef0123456789abcdef",
        risk: "high")

    for (name, key) in [("HS256", hs), ("ES256", es)] {
        let issuer = try! TicketIssuer(ring: try! KeyRing([key]))
        let verifier = TicketVerifier(ring: try! KeyRing([key]))
        let token = try! issuer.issue(request, now: now).token
        Benchmark("Ticket/\(name)/issue") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try issuer.issue(request, now: now)) }
        }
        Benchmark("Ticket/\(name)/verify") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try verifier.inspect(token, expect: .init(action: "scale-deployment"), now: now))
            }
        }
        Benchmark("Ticket/\(name)/issue+verify") { benchmark in
            for _ in benchmark.scaledIterations {
                let t = try issuer.issue(request, now: now)
                blackHole(try verifier.inspect(t.token, now: now))
            }
        }
    }

    // Consume: 1,000 fresh ids per iteration against a store already holding `preload` live ids.
    for preload in [0, 1_000_000] {
        let store = ConsumeStore(preload: preload, now: now)
        Benchmark("Ticket/consume/SQLite, \(preload) stored", configuration: .init(scalingFactor: .kilo)) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try store.store.consume(jti: store.nextID(), expiresAt: now + 3600, now: now)) }
        } setup: {
            _ = store.store
        }
    }

    // jwt-kit, same claims shape (a Codable payload), for the choice recorded in docs/tickets.md.
    Benchmark("jwt-kit/HS256/sign+verify") { benchmark in
        let keys = await JWTKeyCollection().add(hmac: "benchmark-hmac-key-of-at-least-32-bytes!", digestAlgorithm: .sha256)
        for _ in benchmark.scaledIterations {
            let token = try await keys.sign(KitPayload.sample(now))
            blackHole(try await keys.verify(token, as: KitPayload.self))
        }
    }
    Benchmark("jwt-kit/ES256/sign") { benchmark in
        let keys = await JWTKeyCollection().add(ecdsa: ES256PrivateKey())
        for _ in benchmark.scaledIterations { blackHole(try await keys.sign(KitPayload.sample(now))) }
    }
    Benchmark("jwt-kit/ES256/verify") { benchmark in
        let keys = await JWTKeyCollection().add(ecdsa: ES256PrivateKey())
        let token = try await keys.sign(KitPayload.sample(now))
        for _ in benchmark.scaledIterations { blackHole(try await keys.verify(token, as: KitPayload.self)) }
    }
}

/// A SQLite store preloaded with live ids (once), then fed fresh ids.
final class ConsumeStore: @unchecked Sendable {
    let preload: Int
    let now: Int64
    var counter = 0
    lazy var store: SQLiteReplayStore = {
        let path = NSTemporaryDirectory() + "agent-safe-bench-\(preload)/state.sqlite"
        let s = try! SQLiteReplayStore(path: path)
        var have = (try? s.count()) ?? 0
        while have < preload {
            _ = try! s.consume(jti: "pre-\(have)", expiresAt: now + 86_400, now: now)
            have += 1
        }
        return s
    }()

    init(preload: Int, now: Int64) {
        self.preload = preload
        self.now = now
    }

    func nextID() -> String {
        counter += 1
        return "run-\(ProcessInfo.processInfo.processIdentifier)-\(counter)"
    }
}

struct KitPayload: JWTPayload {
    var type: String
    var action: String
    var target: String
    var caller: String
    var params: [String: String]
    var audit_id: String
    var nonce: String
    var iss: IssuerClaim
    var iat: IssuedAtClaim
    var exp: ExpirationClaim

    static func sample(_ now: Int64) -> KitPayload {
        KitPayload(type: "execution-ticket", action: "scale-deployment", target: "prod/shop-web", caller: "deploy-bot",
                   params: ["namespace": "shop", "deployment": "web", "replicas": "3"],
                   audit_id: "evt-0123456789abcdef0123456789abcdef", nonce: "0123456789abcdef0123456789abcdef",
                   iss: "agent-safe", iat: .init(value: Date(timeIntervalSince1970: Double(now))),
                   exp: .init(value: Date(timeIntervalSince1970: Double(now + 300))))
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}
