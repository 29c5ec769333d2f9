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
