#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A UTC instant to the second, as SigV4 uses it (`X-Amz-Date: 20150830T123600Z`). No Foundation needed.
public struct SigV4Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let secondsSince1970: Int64

    public init(secondsSince1970: Int64) {
        self.secondsSince1970 = secondsSince1970
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339 in UTC, no fraction) or the compact `YYYYMMDDTHHMMSSZ`.
    public init?(iso8601 text: String) {
        var digits: [Int] = []
        var separators: [UInt8] = []
        for byte in text.utf8 {
            if (0x30...0x39).contains(byte) { digits.append(Int(byte - 0x30)) } else { separators.append(byte) }
        }
        let extended: [UInt8] = Array("--T::Z".utf8)
        let compact: [UInt8] = Array("TZ".utf8)
        guard digits.count == 14, separators == extended || separators == compact else { return nil }
        if separators == compact, text.utf8.count != 16 { return nil }
        if separators == extended, text.utf8.count != 20 { return nil }
        func number(_ from: Int, _ count: Int) -> Int { digits[from..<from + count].reduce(0) { $0 * 10 + $1 } }
        let (year, month, day) = (number(0, 4), number(4, 2), number(6, 2))
        let (hour, minute, second) = (number(8, 2), number(10, 2), number(12, 2))
        guard (1...12).contains(month), (1...Self.daysInMonth(year: year, month: month)).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        self.init(secondsSince1970: days * 86_400 + Int64(hour * 3600 + minute * 60 + second))
    }

    /// The current wall-clock time. Prefer passing a timestamp from an injected clock in code that is tested.
    public static func now() -> SigV4Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return SigV4Timestamp(secondsSince1970: Int64(spec.tv_sec))
    }

    /// `YYYYMMDDTHHMMSSZ`, the value of `X-Amz-Date`.
    public var amzDate: String {
        let c = components
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "T" + pad(c.hour, 2) + pad(c.minute, 2)
            + pad(c.second, 2) + "Z"
    }

    /// `YYYYMMDD`, the date of the credential scope.
    public var dateStamp: String {
        let c = components
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2)
    }

    public var description: String {
        let c = components
        return pad(c.year, 4) + "-" + pad(c.month, 2) + "-" + pad(c.day, 2) + "T" + pad(c.hour, 2) + ":"
            + pad(c.minute, 2) + ":" + pad(c.second, 2) + "Z"
    }

    public static func < (lhs: SigV4Timestamp, rhs: SigV4Timestamp) -> Bool {
        lhs.secondsSince1970 < rhs.secondsSince1970
    }

    private var components: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let days = secondsSince1970 >= 0 ? secondsSince1970 / 86_400 : (secondsSince1970 - 86_399) / 86_400
        let secondOfDay = Int(secondsSince1970 - days * 86_400)
        let (year, month, day) = Self.civilFromDays(days)
        return (year, month, day, secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60)
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civilFromDays(_ days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}
