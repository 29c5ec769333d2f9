import Logging

extension ShipperRunner {
    /// What ``ShipperRunner/shipRange(to:fromSeq:maxAttempts:)`` sent.
    public struct ShipRangeResult: Sendable, Hashable {
        /// The first and last seq sent; nil when there was nothing at or after `fromSeq`.
        public var firstSeq: Int64?
        public var lastSeq: Int64?
        public var events: Int
        public var batches: Int
        /// The durable cursor afterwards (it only moves when the range went past it).
        public var cursor: Int64
    }

    /// Sends the lines from `fromSeq` to the last one written now to the shipper `name` (again), in batches,
    /// retrying each up to `maxAttempts` times. The durable cursor moves only if the range goes past it.
    /// Independent of ``run()``: usable from the CLI while a server ships.
    /// - Throws: ``ShippingError`` (`invalidConfiguration` for an unknown name, the last failure otherwise).
    public func shipRange(to name: String, fromSeq: Int64, maxAttempts: Int = 5) async throws -> ShipRangeResult {
        guard let lane = lanes.first(where: { $0.member.shipper.name == name }) else {
            throw ShippingError(
                .invalidConfiguration,
                "no shipper named '\(name)' (configured: \(shipperNames.joined(separator: ", ")))")
        }
        var logger = self.logger
        logger[metadataKey: "shipper"] = "\(name)"
        var stored = try await store.cursor(named: name)?.lastSeq ?? 0
        var reader = makeReader(after: max(0, fromSeq - 1))
        let target = try reader.lastWrittenSeq()
        var result = ShipRangeResult(firstSeq: nil, lastSeq: nil, events: 0, batches: 0, cursor: stored)
        let spec = lane.member.batch
        while reader.lastSeq < target {
            try Task.checkCancellation()
            let chunk = try reader.read(maxLines: spec.maxEvents, maxBytes: spec.maxBytes)
            guard !chunk.lines.isEmpty else { break }
            let batch = ShipBatch(lines: chunk.lines)
            var attempt = 0
            while true {
                do {
                    try await lane.member.shipper.ship(batch)
                    break
                } catch {
                    attempt += 1
                    let failure = ShippingError.wrap(error, as: .transport, "shipping failed")
                    logger.warning(
                        "re-send attempt failed",
                        metadata: ["error": "\(failure)", "attempt": "\(attempt)", "first_seq": "\(batch.firstSeq)"])
                    guard attempt < max(1, maxAttempts) else { throw failure }
                    try await Task.sleep(for: lane.backoff.delay(attempt: attempt))
                }
            }
            result.firstSeq = result.firstSeq ?? batch.firstSeq
            result.lastSeq = batch.lastSeq
            result.events += batch.lines.count
            result.batches += 1
            if batch.lastSeq > stored {
                try await store.acknowledge(named: name, through: batch.lastSeq)
                stored = batch.lastSeq
                result.cursor = stored
            }
        }
        logger.info(
            "re-sent audit range",
            metadata: ["events": "\(result.events)", "from_seq": "\(fromSeq)", "cursor": "\(result.cursor)"])
        return result
    }
}
