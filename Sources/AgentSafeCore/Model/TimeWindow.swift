/// Days and hours during which a rule applies. Hours are inclusive (`end_hour: 17` runs through 17:59); a window
/// with `start_hour > end_hour` wraps midnight. `days` is tested against the weekday of the moment itself
/// (0 = Monday … 6 = Sunday), as upstream does, even for a wrapping window.
public struct TimeWindow: Sendable, Hashable {
    public var days: [Int]?
    public var startHour: Int
    public var endHour: Int
    /// The zone the days and hours are read in; `nil` = UTC (upstream's only behaviour).
    public var timeZone: ZoneOffsets?

    public init(days: [Int]? = nil, startHour: Int = 0, endHour: Int = 23, timeZone: ZoneOffsets? = nil) {
        self.days = days
        self.startHour = startHour
        self.endHour = endHour
        self.timeZone = timeZone
    }

    /// Whether the window holds at a given weekday (0 = Monday) and hour.
    public func contains(weekday: Int, hour: Int) -> Bool {
        if let days, !days.contains(weekday) { return false }
        if startHour <= endHour {
            return startHour <= hour && hour <= endHour
        }
        return hour >= startHour || hour <= endHour
    }

    /// Whether the window holds at `instant`.
    public func contains(_ instant: Instant) -> Bool {
        let (weekday, hour) = instant.weekdayAndHour(in: timeZone)
        return contains(weekday: weekday, hour: hour)
    }

    /// The (weekday, hour) cells where the window holds, as a 168-bit set (bit = weekday * 24 + hour).
    public var cells: WeekCells {
        var cells = WeekCells()
        for day in 0..<7 {
            for hour in 0..<24 where contains(weekday: day, hour: hour) {
                cells.insert(day: day, hour: hour)
            }
        }
        return cells
    }
}

/// A set of (weekday, hour) cells of a week.
public struct WeekCells: Sendable, Hashable {
    var bits: (UInt64, UInt64, UInt64) = (0, 0, 0)

    public init() {}

    public mutating func insert(day: Int, hour: Int) {
        let i = day * 24 + hour
        switch i / 64 {
        case 0: bits.0 |= 1 << UInt64(i % 64)
        case 1: bits.1 |= 1 << UInt64(i % 64)
        default: bits.2 |= 1 << UInt64(i % 64)
        }
    }

    public var isEmpty: Bool { bits.0 == 0 && bits.1 == 0 && bits.2 == 0 }

    public func union(_ other: WeekCells) -> WeekCells {
        var r = WeekCells()
        r.bits = (bits.0 | other.bits.0, bits.1 | other.bits.1, bits.2 | other.bits.2)
        return r
    }

    public func isSubset(of other: WeekCells) -> Bool {
        bits.0 & ~other.bits.0 == 0 && bits.1 & ~other.bits.1 == 0 && bits.2 & ~other.bits.2 == 0
    }

    public static func == (a: WeekCells, b: WeekCells) -> Bool {
        a.bits.0 == b.bits.0 && a.bits.1 == b.bits.1 && a.bits.2 == b.bits.2
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bits.0)
        hasher.combine(bits.1)
        hasher.combine(bits.2)
    }
}
