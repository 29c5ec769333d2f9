import AgentSafeCore
import Foundation

/// Turns IANA zone names into ``ZoneOffsets`` tables, once per zone per load.
final class ZoneResolver {
    private var cache: [String: ZoneOffsets] = [:]

    func resolve(_ identifier: String, node: YAMLNode, path: String, ctx: DecodeContext) -> ZoneOffsets? {
        if let z = cache[identifier] { return z }
        guard let z = Self.offsets(for: identifier) else {
            let hint = Suggest.closest(to: identifier, in: TimeZone.knownTimeZoneIdentifiers).map { " (did you mean '\($0)'?)" } ?? ""
            ctx.report(.invalidValue, node, path, "unknown time zone '\(identifier)'\(hint); use an IANA name like Europe/Berlin")
            return nil
        }
        cache[identifier] = z
        return z
    }

    /// Offsets from 1970 to 2100, read from the system zone database.
    static func offsets(for identifier: String) -> ZoneOffsets? {
        if identifier == "UTC" || identifier == "Etc/UTC" { return ZoneOffsets(identifier: identifier, initialOffset: 0, transitions: []) }
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        let start = Date(timeIntervalSince1970: 0)
        let end = Date(timeIntervalSince1970: 4_102_444_800)  // 2100-01-01
        let initial = Int32(zone.secondsFromGMT(for: start))
        var transitions: [ZoneOffsets.Transition] = []
        var cursor = start
        var last = initial
        while let next = zone.nextDaylightSavingTimeTransition(after: cursor), next < end {
            let offset = Int32(zone.secondsFromGMT(for: next))
            if offset != last {
                transitions.append(.init(start: Int64(next.timeIntervalSince1970), offset: offset))
                last = offset
            }
            cursor = next
        }
        return ZoneOffsets(identifier: identifier, initialOffset: initial, transitions: transitions)
    }
}
