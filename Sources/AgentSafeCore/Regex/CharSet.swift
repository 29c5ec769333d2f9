/// A set of Unicode scalar values: sorted, merged, non-adjacent ranges plus a 128-bit ASCII bitmap.
struct CharSet: Sendable, Hashable {
    static let maxScalar: UInt32 = 0x10FFFF

    private(set) var ranges: [ClosedRange<UInt32>]
    private(set) var lowBits: UInt64 = 0
    private(set) var highBits: UInt64 = 0

    /// The union of `input` (in any order, overlapping or not), complemented if `negated`.
    init(ranges input: [ClosedRange<UInt32>], negated: Bool = false) {
        var merged: [ClosedRange<UInt32>] = []
        merged.reserveCapacity(input.count)
        for r in input.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        if negated {
            var inverted: [ClosedRange<UInt32>] = []
            var next: UInt32 = 0
            for r in merged {
                if r.lowerBound > next { inverted.append(next...(r.lowerBound - 1)) }
                next = r.upperBound &+ 1
            }
            if next <= Self.maxScalar { inverted.append(next...Self.maxScalar) }
            merged = inverted
        }
        ranges = merged
        for r in merged where r.lowerBound < 128 {
            for v in r.lowerBound...min(r.upperBound, 127) {
                if v < 64 { lowBits |= 1 << UInt64(v) } else { highBits |= 1 << UInt64(v - 64) }
            }
        }
    }

    init(_ scalar: Unicode.Scalar) {
        self.init(ranges: [scalar.value...scalar.value])
    }

    @inline(__always)
    func contains(_ v: UInt32) -> Bool {
        if v < 64 { return lowBits & (1 << UInt64(v)) != 0 }
        if v < 128 { return highBits & (1 << UInt64(v &- 64)) != 0 }
        // Binary search over the ranges (most sets have one or two ranges above ASCII).
        var lo = 0
        var hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let r = ranges[mid]
            if v < r.lowerBound {
                hi = mid
            } else if v > r.upperBound {
                lo = mid + 1
            } else {
                return true
            }
        }
        return false
    }

    var isEmpty: Bool { ranges.isEmpty }

    var inverted: CharSet { CharSet(ranges: ranges, negated: true) }

    /// `ranges` with the other ASCII case of every ASCII letter added (`(?i)` is ASCII-only).
    static func caseFolded(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out = ranges
        for (letters, delta) in [(UInt32(65)...90, Int64(32)), (UInt32(97)...122, Int64(-32))] {
            for r in ranges where r.overlaps(letters) {
                let lo = max(r.lowerBound, letters.lowerBound)
                let hi = min(r.upperBound, letters.upperBound)
                out.append(UInt32(Int64(lo) + delta)...UInt32(Int64(hi) + delta))
            }
        }
        return out
    }

    static let any = CharSet(ranges: [0...maxScalar])
    static let anyButNewline = CharSet(ranges: [0...9, 11...maxScalar])
    static let digit = CharSet(ranges: [48...57])
    static let word = CharSet(ranges: [48...57, 65...90, 95...95, 97...122])
    static let space = CharSet(ranges: [9...13, 32...32])

    /// The ASCII word characters `[A-Za-z0-9_]` that `\w` and `\b` use.
    @inline(__always)
    static func isWord(_ v: UInt32) -> Bool { word.contains(v) }
}
