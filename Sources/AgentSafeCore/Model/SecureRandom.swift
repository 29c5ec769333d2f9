#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The kernel's CSPRNG, read 4 KiB at a time: the same source as `SystemRandomNumberGenerator`, with one
/// `getrandom` system call per 256 bytes instead of one per 8 (a decision takes three ids, a ticket a fourth).
/// Used for ids; keys are made by swift-crypto.
public struct SecureRandom: RandomNumberGenerator, Sendable {
    public init() {}

    public mutating func next() -> UInt64 { Self.pool.withLock { $0.next() } }

    private static let pool = Mutex(Pool())

    private struct Pool: ~Copyable {
        static let size = 4096
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Pool.size, alignment: 8)
        var offset = Pool.size

        mutating func next() -> UInt64 {
            if offset == Pool.size { refill() }
            let value = buffer.load(fromByteOffset: offset, as: UInt64.self)
            // Each word is handed out once.
            buffer.storeBytes(of: 0, toByteOffset: offset, as: UInt64.self)
            offset += 8
            return value
        }

        mutating func refill() {
            var filled = 0
            while filled < Pool.size {
                #if canImport(Glibc)
                // getentropy(3): getrandom(2) underneath, at most 256 bytes a call, blocks until the pool is seeded.
                let n = min(256, Pool.size - filled)
                guard getentropy(buffer.baseAddress! + filled, n) == 0 else {
                    fatalError("getentropy failed: errno \(errno)")
                }
                filled += n
                #else
                arc4random_buf(buffer.baseAddress! + filled, Pool.size - filled)
                filled = Pool.size
                #endif
            }
            offset = 0
        }

        deinit { buffer.deallocate() }
    }
}
