/// A set of Unicode scalars: sorted, merged ranges plus a 128-bit ASCII bitmap for the fast path.
struct CharSet: Sendable, Hashable {
    private(set) var ranges: [ClosedRange<UInt32>]
    private(set) var lowBits: UInt64 = 0
    private(set) var highBits: UInt64 = 0

    init(ranges input: [ClosedRange<UInt32>], negated: Bool) {
        var sorted = input.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in sorted {
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
                if r.upperBound == 0x10FFFF { next = 0x110000 }
            }
            if next <= 0x10FFFF { inverted.append(next...0x10FFFF) }
            merged = inverted
        }
        sorted = merged
        self.ranges = sorted
        for r in sorted where r.lowerBound < 128 {
            for v in r.lowerBound...min(r.upperBound, 127) {
                if v < 64 { lowBits |= 1 << UInt64(v) } else { highBits |= 1 << UInt64(v - 64) }
            }
        }
    }

    @inline(__always)
    func contains(_ v: UInt32) -> Bool {
        if v < 64 { return lowBits & (1 << UInt64(v)) != 0 }
        if v < 128 { return highBits & (1 << UInt64(v - 64)) != 0 }
        for r in ranges {
            if v < r.lowerBound { return false }
            if v <= r.upperBound { return true }
        }
        return false
    }

    var expandedRanges: [ClosedRange<UInt32>] { ranges }

    var inverted: CharSet { CharSet(ranges: ranges, negated: true) }

    /// With the other ASCII case of every ASCII letter added.
    var caseFolded: CharSet {
        var extra: [ClosedRange<UInt32>] = []
        for r in ranges where r.lowerBound < 128 {
            for v in r.lowerBound...min(r.upperBound, 127) {
                if let o = CharSet.otherCase(Unicode.Scalar(UInt8(v))) { extra.append(o...o) }
            }
        }
        return CharSet(ranges: ranges + extra, negated: false)
    }

    static func otherCase(_ c: Unicode.Scalar) -> UInt32? {
        switch c.value {
        case 65...90: c.value + 32
        case 97...122: c.value - 32
        default: nil
        }
    }

    static let digit = CharSet(ranges: [48...57], negated: false)
    static let word = CharSet(ranges: [48...57, 65...90, 95...95, 97...122], negated: false)
    static let space = CharSet(ranges: [9...13, 32...32], negated: false)
}
