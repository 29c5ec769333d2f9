/// The object key of a batch: `<prefix>YYYY/MM/DD/<first seq>-<last seq>.jsonl`, the date being the UTC date of
/// the batch's first event, the seqs zero-padded to 12 digits. The same batch always gets the same key, so a
/// re-sent batch overwrites its own object with the same bytes.
public enum S3ObjectKey {
    public static func key(prefix: String, batch: ShipBatch) -> String {
        var base = prefix
        if !base.isEmpty, !base.hasSuffix("/") { base += "/" }
        let date = UTCTimestamp(iso8601: batch.lines[0].timestamp)?.utcDate ?? (year: 1970, month: 1, day: 1)
        return base + pad(date.year, 4) + "/" + pad(date.month, 2) + "/" + pad(date.day, 2) + "/"
            + pad(batch.firstSeq, 12) + "-" + pad(batch.lastSeq, 12) + ".jsonl"
    }

    static func pad(_ value: some BinaryInteger, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
