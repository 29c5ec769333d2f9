import AgentSafeCore
import Foundation
import Testing

@Suite("Instant: ISO 8601 text")
struct InstantTests {
    /// Against Foundation's formatter on fixed edge cases and thousands of instants from 1600 to 9999 (before the
    /// Gregorian reform Foundation switches to the Julian calendar; ISO 8601, and we, stay proleptic Gregorian).
    @Test func matchesFoundationsFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        var rng = SystemRandomNumberGenerator()
        let edges: [Int64] = [0, -1, 1, 86_399, 86_400, 951_782_400, 951_868_799, 1_764_028_800, 253_402_300_799,
                              -11_676_096_000]
        let random = (0..<5000).map { _ in Int64.random(in: -11_676_096_000...253_402_300_799, using: &rng) }
        for seconds in edges + random {
            let expected = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            #expect(Instant(secondsSinceEpoch: seconds).iso8601 == expected, "\(seconds)")
        }
    }

    @Test func prolepticGregorianBeforeTheReform() {
        #expect(Instant(secondsSinceEpoch: -62_167_219_200).iso8601 == "0000-01-01T00:00:00Z")
        #expect(Instant(secondsSinceEpoch: -62_135_596_800).iso8601 == "0001-01-01T00:00:00Z")
        #expect(Instant(secondsSinceEpoch: -12_219_292_800).iso8601 == "1582-10-15T00:00:00Z")
    }

    @Test func yearsOutsideFourDigitsStillFormat() {
        #expect(Instant(secondsSinceEpoch: 253_402_300_800).iso8601 == "10000-01-01T00:00:00Z")
    }
}
