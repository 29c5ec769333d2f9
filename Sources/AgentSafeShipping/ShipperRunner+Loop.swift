import Logging

extension ShipperRunner {
    /// One shipper's loop: load the cursor, then read → batch → ship → acknowledge, retrying the same batch
    /// until it is acknowledged.
    func runLoop(_ lane: Lane) async {
        let name = lane.member.shipper.name
        var logger = self.logger
        logger[metadataKey: "shipper"] = "\(name)"
        lane.update { $0.state = .starting }
        defer { lane.update { $0.state = .stopped } }

        var failures = 0
        var cursor: Int64 = 0
        while true {
            do {
                cursor = try await store.cursor(named: name)?.lastSeq ?? 0
                break
            } catch {
                failures += 1
                await noteFailure(
                    lane, ShippingError(.cursorStore, "cannot read the cursor: \(error)"), consecutive: failures,
                    logger: logger, persist: false)
                guard await pause(lane, attempt: failures) else { return }
            }
        }
        lane.update {
            $0.cursor = cursor
            $0.state = .idle
        }
        logger.info("audit shipper started", metadata: ["cursor": "\(cursor)"])

        var reader = makeReader(after: cursor)
        if let written = try? reader.lastWrittenSeq(), written < cursor {
            // A log replaced by a new one restarts at seq 1; this shipper would wait for seq cursor + 1.
            logger.warning(
                "the shipper's cursor is past the end of the audit log; waiting for later lines",
                metadata: ["cursor": "\(cursor)", "last_written_seq": "\(written)"])
        }
        var pending: ShipBatch?
        failures = 0
        while !Task.isCancelled {
            refreshLastWritten(lane, reader)
            let flush = currentFlush
            if let flush {
                if pending == nil, cursor >= flush.targetSeq { break }
                if ContinuousClock.now >= flush.deadline {
                    logger.warning(
                        "flush deadline passed before the shipper caught up",
                        metadata: ["cursor": "\(cursor)", "target_seq": "\(flush.targetSeq)"])
                    break
                }
            }

            if pending == nil {
                do {
                    pending = try await collectBatch(&reader, lane, flushing: flush != nil)
                } catch {
                    failures += 1
                    await noteFailure(lane, error, consecutive: failures, logger: logger)
                    // An operator may have moved the durable cursor past a gap (`audit ship --from-seq`).
                    if let stored = try? await store.cursor(named: name)?.lastSeq, stored > cursor {
                        logger.notice("cursor moved forward by another process", metadata: ["cursor": "\(stored)"])
                        cursor = stored
                        reader = makeReader(after: stored)
                        lane.update { $0.cursor = stored }
                    }
                    guard await pause(lane, attempt: failures) else { break }
                    continue
                }
                if pending == nil {
                    await lane.appended.wait(timeout: flush == nil ? options.pollInterval : .milliseconds(20))
                    continue
                }
            }
            guard let batch = pending else { continue }

            lane.update { $0.state = .shipping }
            do {
                try await ship(batch, with: lane.member.shipper, deadline: flush?.deadline)
            } catch {
                if Task.isCancelled { break }
                failures += 1
                await noteFailure(lane, error, consecutive: failures, logger: logger, batch: batch)
                guard await pause(lane, attempt: failures) else { break }
                continue
            }

            cursor = batch.lastSeq
            pending = nil
            failures = 0
            lane.update {
                $0.cursor = batch.lastSeq
                $0.shippedEvents += batch.lines.count
                $0.batches += 1
                $0.consecutiveFailures = 0
                $0.state = .idle
            }
            logger.debug(
                "batch acknowledged",
                metadata: ["first_seq": "\(batch.firstSeq)", "last_seq": "\(batch.lastSeq)", "events": "\(batch.lines.count)"])
            do {
                try await store.acknowledge(named: name, through: batch.lastSeq)
            } catch {
                // Delivered but not recorded: after a restart this batch is sent again (at least once).
                logger.error("cannot store the cursor", metadata: ["error": "\(error)", "cursor": "\(cursor)"])
                lane.update { $0.lastError = "cannot store the cursor: \(error)" }
            }
        }
        logger.info("audit shipper stopped", metadata: ["cursor": "\(cursor)"])
    }

    func makeReader(after seq: Int64) -> AuditLogReader {
        AuditLogReader(path: logPath, after: seq, chunkSize: options.chunkSize, maxLineBytes: options.maxLineBytes)
    }

    private func refreshLastWritten(_ lane: Lane, _ reader: AuditLogReader) {
        guard let written = try? reader.lastWrittenSeq() else { return }
        lane.update { $0.lastWrittenSeq = written }
    }

    /// The next batch: whatever is complete now, then, unless full or flushing, more lines until the batch is
    /// full or `linger_ms` have passed. Nil when nothing new was written.
    private func collectBatch(_ reader: inout AuditLogReader, _ lane: Lane, flushing: Bool) async throws -> ShipBatch? {
        let spec = lane.member.batch
        let first = try reader.read(maxLines: spec.maxEvents, maxBytes: spec.maxBytes)
        guard !first.lines.isEmpty else { return nil }
        var lines = first.lines
        var bytes = first.byteCount
        var full = first.reachedLimit
        let deadline = ContinuousClock.now + .milliseconds(spec.lingerMs)
        while !full, !flushing, lines.count < spec.maxEvents, bytes < spec.maxBytes {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            await lane.appended.wait(timeout: remaining)
            if Task.isCancelled || currentFlush != nil { break }
            // An error here ends lingering; the lines read so far go out and the error recurs on the next read.
            guard
                let more = try? reader.read(
                    maxLines: spec.maxEvents - lines.count, maxBytes: spec.maxBytes - bytes,
                    allowOversizedFirstLine: false)
            else { break }
            lines += more.lines
            bytes += more.byteCount
            full = more.reachedLimit
        }
        return ShipBatch(lines: lines)
    }

    /// Ships `batch`; during a flush, gives up (cancelling the request) at the flush deadline.
    func ship(_ batch: ShipBatch, with shipper: any AuditShipper, deadline: ContinuousClock.Instant?) async throws {
        guard let deadline else {
            try await shipper.ship(batch)
            return
        }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await shipper.ship(batch)
                return true
            }
            group.addTask {
                try await Task.sleep(until: deadline)
                return false
            }
            let delivered = try await group.next() ?? false
            group.cancelAll()
            if !delivered { throw ShippingError(.timeout, "the flush deadline passed while a batch was in flight") }
        }
    }

    private func noteFailure(
        _ lane: Lane, _ error: any Error, consecutive: Int, logger: Logger, batch: ShipBatch? = nil,
        persist: Bool = true
    ) async {
        let message = ShippingError.wrap(error, as: .transport, "shipping failed").description
        lane.update {
            $0.failures += 1
            $0.consecutiveFailures = consecutive
            $0.lastError = message
            $0.state = .retrying
        }
        var metadata: Logger.Metadata = ["error": "\(message)", "consecutive_failures": "\(consecutive)"]
        if let batch {
            metadata["first_seq"] = "\(batch.firstSeq)"
            metadata["last_seq"] = "\(batch.lastSeq)"
        }
        // The first failure and every tenth are warnings; the rest would flood the log during an outage.
        if consecutive == 1 || consecutive % 10 == 0 {
            logger.warning("audit shipping failed; retrying", metadata: metadata)
        } else {
            logger.debug("audit shipping failed; retrying", metadata: metadata)
        }
        guard persist else { return }
        do {
            try await store.recordFailure(named: lane.member.shipper.name, message: message)
        } catch {
            logger.error("cannot record the failure in the cursor store", metadata: ["error": "\(error)"])
        }
    }

    /// Waits before the next attempt (backoff with full jitter, cut short by a flush, bounded by its deadline).
    /// False when the loop should stop: cancelled, or the flush deadline passed.
    private func pause(_ lane: Lane, attempt: Int) async -> Bool {
        var delay = lane.backoff.delay(attempt: attempt)
        if let flush = currentFlush {
            let remaining = flush.deadline - ContinuousClock.now
            guard remaining > .zero else { return false }
            delay = min(delay, remaining)
        }
        await lane.flushing.wait(timeout: delay)
        return !Task.isCancelled
    }
}
