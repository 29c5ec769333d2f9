/// Python's `f"{x:.0f}"`: the exact value of `x` rounded to an integer, ties to even (`90.5` → `"90"`,
/// `91.5` → `"92"`), printed in full (`1e20` → `"100000000000000000000"`), `-0` for negative values that round
/// to zero, `inf`/`-inf`/`nan` for the non-finite ones.
func pythonFixed0(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    let r = x.rounded(.toNearestOrEven)
    if r == 0 { return x.sign == .minus ? "-0" : "0" }
    if r.magnitude < 0x1p63 { return String(Int64(r)) }
    // |r| ≥ 2^63: r = m · 2^e exactly, with e ≥ 11. Multiply m's decimal digits by 2, e times.
    let m = r.significandBitPattern | (1 << UInt64(Double.significandBitCount))
    let e = Int(r.exponent) - Double.significandBitCount
    var limbs: [UInt64] = []  // base 10^9, least significant first
    var v = m
    while v > 0 {
        limbs.append(v % 1_000_000_000)
        v /= 1_000_000_000
    }
    var remaining = e
    while remaining > 0 {
        let step = min(remaining, 29)  // 10^9 · 2^29 < 2^64
        var carry: UInt64 = 0
        for i in limbs.indices {
            let p = (limbs[i] << UInt64(step)) + carry
            limbs[i] = p % 1_000_000_000
            carry = p / 1_000_000_000
        }
        while carry > 0 {
            limbs.append(carry % 1_000_000_000)
            carry /= 1_000_000_000
        }
        remaining -= step
    }
    var out = r < 0 ? "-" : ""
    out += String(limbs[limbs.count - 1])
    for limb in limbs.dropLast().reversed() {
        let s = String(limb)
        out += String(repeating: "0", count: 9 - s.count) + s
    }
    return out
}
