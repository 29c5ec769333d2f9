import Crypto
import Synchronization

/// The derived signing keys of one signer, by (date, region, service). A key is valid for a whole UTC day, so
/// signing thousands of requests derives it once a day instead of four HMACs per request.
final class SigningKeyCache: Sendable {
    struct Scope: Hashable, Sendable {
        var date: String
        var region: String
        var service: String
    }

    /// At most this many scopes are kept (a signer normally uses one at a time: today's).
    static let capacity = 4

    private let keys = Mutex<[Scope: SymmetricKey]>([:])

    func key(for scope: Scope, derive: (Scope) -> SymmetricKey) -> SymmetricKey {
        if let key = keys.withLock({ $0[scope] }) { return key }
        let key = derive(scope)  // outside the lock: four HMACs
        keys.withLock { keys in
            if keys.count >= Self.capacity { keys.removeAll(keepingCapacity: true) }
            keys[scope] = key
        }
        return key
    }

    var count: Int { keys.withLock { $0.count } }
}
