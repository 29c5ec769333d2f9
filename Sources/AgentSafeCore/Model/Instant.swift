/// A moment in time as whole seconds since the Unix epoch (UTC). Core does no clock or calendar I/O: the edges
/// read the clock and turn it into an `Instant`.
public struct Instant: Sendable, Hashable, Comparable {
    public var secondsSinceEpoch: Int64

    public init(secondsSinceEpoch: Int64) {
        self.secondsSinceEpoch = secondsSinceEpoch
    }

    public static func < (a: Instant, b: Instant) -> Bool { a.secondsSinceEpoch < b.secondsSinceEpoch }

    /// Weekday (0 = Monday … 6 = Sunday) and hour (0…23) of this instant in `zone` (UTC when `nil`).
    public func weekdayAndHour(in zone: ZoneOffsets?) -> (weekday: Int, hour: Int) {
        let local = secondsSinceEpoch + Int64(zone?.offset(at: self) ?? 0)
        let days = Instant.floorDiv(local, 86_400)
        let secondOfDay = local - days * 86_400
        // 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
        let weekday = Int(((days % 7) + 7 + 3) % 7)
        return (weekday, Int(secondOfDay / 3_600))
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}

/// A time zone reduced to its UTC offsets over time: a sorted list of transitions. Built once at load (by the
/// configuration layer, from the system's IANA zone database) so evaluation is a binary search, not a library call.
public struct ZoneOffsets: Sendable, Hashable {
    /// The IANA identifier, e.g. `Europe/Berlin`.
    public var identifier: String
    /// Offset in seconds before the first transition.
    public var initialOffset: Int32
    /// (instant the offset starts, offset in seconds east of UTC), ascending.
    public var transitions: [Transition]

    public struct Transition: Sendable, Hashable {
        public var start: Int64
        public var offset: Int32
        public init(start: Int64, offset: Int32) {
            self.start = start
            self.offset = offset
        }
    }

    public init(identifier: String, initialOffset: Int32, transitions: [Transition]) {
        self.identifier = identifier
        self.initialOffset = initialOffset
        self.transitions = transitions
    }

    public static let utc = ZoneOffsets(identifier: "UTC", initialOffset: 0, transitions: [])

    public func offset(at instant: Instant) -> Int32 {
        var lo = 0
        var hi = transitions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if transitions[mid].start <= instant.secondsSinceEpoch { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? initialOffset : transitions[lo - 1].offset
    }
}

extension Instant {
    /// `2026-03-02T10:00:00Z` (UTC, whole seconds), computed without Foundation (Howard Hinnant's civil_from_days).
    public var iso8601: String {
        let days = secondsSinceEpoch >= 0 ? secondsSinceEpoch / 86_400 : (secondsSinceEpoch - 86_399) / 86_400
        let secondOfDay = secondsSinceEpoch - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        if year >= 0 && year < 10_000 {
            // `YYYY-MM-DDTHH:MM:SSZ` written digit by digit (every audit line, answer and approval carries one).
            return String(unsafeUninitializedCapacity: 20) { b in
                func put(_ value: Int64, at start: Int, width: Int) {
                    var v = value
                    for k in stride(from: start + width - 1, through: start, by: -1) {
                        b[k] = UInt8(ascii: "0") + UInt8(v % 10)
                        v /= 10
                    }
                }
                put(year, at: 0, width: 4)
                b[4] = UInt8(ascii: "-")
                put(month, at: 5, width: 2)
                b[7] = UInt8(ascii: "-")
                put(day, at: 8, width: 2)
                b[10] = UInt8(ascii: "T")
                put(secondOfDay / 3600, at: 11, width: 2)
                b[13] = UInt8(ascii: ":")
                put(secondOfDay % 3600 / 60, at: 14, width: 2)
                b[16] = UInt8(ascii: ":")
                put(secondOfDay % 60, at: 17, width: 2)
                b[19] = UInt8(ascii: "Z")
                return 20
            }
        }
        // Years outside 0…9999: as many digits as they take.
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)):\(two(secondOfDay % 60))Z"
    }
}
