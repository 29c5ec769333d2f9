// Byte-level matchers. One left-to-right pass over the UTF-8 bytes of a string; each detector is triggered by a
// byte that every one of its matches must contain (`-` of `-----BEGIN`, `A` of `AKIA`, `:` of `://`, `=` …),
// and high-entropy tokens are evaluated when a run of token characters ends. Every forward look-ahead either
// is bounded by a constant or ends at a point the next trigger of the same detector cannot start before, so a
// scan is linear in the length of the string whatever it holds.

/// A detected range before overlap resolution.
struct DLPCandidate: Sendable {
    var start: Int
    var end: Int
    var detector: DLPDetector
}

/// The scanner's settings in the form the matcher wants them (plain values: copied for every string).
struct DLPConfig: Sendable {
    var mask: UInt16
    var entropyThreshold: Double
    var entropyMinLength: Int

    /// Fixed threshold (bits per character) for tokens made only of hex digits, and their minimum length.
    static let hexThreshold = 3.0
    static let hexMinLength = 32

    func has(_ d: DLPDetector) -> Bool { mask & d.bit != 0 }
}

// MARK: - Byte classes

@inline(__always) func dlpIsUpper(_ b: UInt8) -> Bool { b &- 0x41 < 26 }
@inline(__always) func dlpIsDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
@inline(__always) func dlpIsLetter(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }
@inline(__always) func dlpIsAlnum(_ b: UInt8) -> Bool { dlpIsLetter(b) || dlpIsDigit(b) }
@inline(__always) func dlpIsHex(_ b: UInt8) -> Bool { dlpIsDigit(b) || (b | 0x20) &- 0x61 < 6 }
/// `[A-Za-z0-9_-]`
@inline(__always) func dlpIsBase64URL(_ b: UInt8) -> Bool { dlpIsAlnum(b) || b == 0x5F || b == 0x2D }
/// `[A-Za-z0-9+/]`
@inline(__always) func dlpIsBase64Std(_ b: UInt8) -> Bool { dlpIsAlnum(b) || b == 0x2B || b == 0x2F }
/// Token characters for the entropy rule: `[A-Za-z0-9+/=_-]`.
@inline(__always) func dlpIsTokenChar(_ b: UInt8) -> Bool {
    dlpIsAlnum(b) || b == 0x2B || b == 0x2F || b == 0x3D || b == 0x5F || b == 0x2D
}
@inline(__always) func dlpLower(_ b: UInt8) -> UInt8 { dlpIsUpper(b) ? b | 0x20 : b }

/// Byte classes for the main loop, one character per byte value (0x00 to 0xFF; 0x80 and up are all `@`):
/// `@` nothing, `A` token character (``dlpIsTokenChar(_:)``), `B` trigger (`-` `A` `g` `x` `e` `:` `=`), `C` both;
/// bit 0 = token, bit 1 = trigger. A static string costs no initialisation at run time. A test checks it
/// against the predicates.
// swift-format-ignore
let dlpByteClasses: StaticString =
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@A@C@AAAAAAAAAAAB@@C@@@CAAAAAAAAAAAAAAAAAAAAAAAAA@@@@A@AAAACACAAAAAAAAAAAAAAAACAA@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@"

private let dash: UInt8 = 0x2D  // -
private let colon: UInt8 = 0x3A  // :
private let equals: UInt8 = 0x3D  // =
private let slash: UInt8 = 0x2F  // /
private let dot: UInt8 = 0x2E  // .
private let at: UInt8 = 0x40  // @
private let quote: UInt8 = 0x22  // "
private let apostrophe: UInt8 = 0x27  // '

// MARK: - Matcher

struct DLPMatcher {
    let p: UnsafeBufferPointer<UInt8>
    let n: Int
    let config: DLPConfig
    var candidates: [DLPCandidate] = []
    var inOrder = true
    // Positions before which a detector has already claimed the bytes (keeps look-aheads linear).
    var pemCovered = 0
    var jwtCovered = 0
    var connCovered = 0
    // A public PEM block (certificate, public key): its base64 body is not a high-entropy secret.
    var publicPEMStart = 0
    var publicPEMEnd = 0
    /// A search for `-----END` from here found none, so no later search can find one either.
    var pemNoEndFrom = Int.max
    /// The last `-----END` found, and where the search for it started.
    var pemEndCacheFrom = Int.max
    var pemEndCacheAt = -1

    init(_ p: UnsafeBufferPointer<UInt8>, config: DLPConfig) {
        self.p = p
        self.n = p.count
        self.config = config
    }

    @inline(__always) mutating func add(_ start: Int, _ end: Int, _ d: DLPDetector) {
        if let last = candidates.last, last.start > start { inOrder = false }
        candidates.append(DLPCandidate(start: start, end: end, detector: d))
    }

    /// True if the bytes at `i` are `literal` (ASCII, exact case).
    @inline(__always) func hasLiteral(_ literal: StaticString, at i: Int) -> Bool {
        let len = literal.utf8CodeUnitCount
        guard i >= 0, i + len <= n else { return false }
        let l = literal.utf8Start
        for k in 0..<len where p[i + k] != l[k] { return false }
        return true
    }

    /// True if the bytes at `i` are `literal` ignoring ASCII case (`literal` is lower case).
    @inline(__always) func hasLiteralIgnoringCase(_ literal: StaticString, at i: Int) -> Bool {
        let len = literal.utf8CodeUnitCount
        guard i >= 0, i + len <= n else { return false }
        let l = literal.utf8Start
        for k in 0..<len where dlpLower(p[i + k]) != l[k] { return false }
        return true
    }

    @inline(__always) func runEnd(from i: Int, _ pred: (UInt8) -> Bool) -> Int {
        var j = i
        while j < n, pred(p[j]) { j += 1 }
        return j
    }

    // MARK: Driver

    mutating func run(awsSecretContext: Bool) {
        let minLen = config.entropyMinLength
        let he = config.has(.highEntropy)
        let aws = config.has(.awsAccessKey)
        let pemMask = DLPDetector.privateKey.bit | DLPDetector.highEntropy.bit
        if awsSecretContext, aws, n == 40, runEnd(from: 0, dlpIsBase64Std) == 40 {
            add(0, 40, .awsAccessKey)
        }
        let classes = dlpByteClasses.utf8Start
        var runStart = -1
        var i = 0
        while i < n {
            let b = p[i]
            let cls = classes[Int(b)]
            if cls & 1 != 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if he, i - runStart >= minLen { evaluateToken(runStart, i) }
                runStart = -1
            }
            if cls & 2 == 0 {
                i += 1
                continue
            }
            switch b {
            case dash:
                if i >= pemCovered, config.mask & pemMask != 0, p.count - i > 20, hasLiteral("-----BEGIN ", at: i) {
                    matchPEM(at: i)
                }
            case 0x41:  // A
                if aws, i + 20 <= n, i == 0 || !dlpIsAlnum(p[i - 1]) { matchAWSKeyID(at: i) }
            case 0x67:  // g
                if config.has(.githubToken), i + 26 <= n, i == 0 || !(dlpIsAlnum(p[i - 1]) || p[i - 1] == 0x5F) {
                    matchGitHub(at: i)
                }
            case 0x78:  // x
                if config.has(.slackToken), i + 15 <= n, i == 0 || !dlpIsAlnum(p[i - 1]) { matchSlackToken(at: i) }
            case 0x65:  // e
                if i >= jwtCovered, config.has(.jwt), i + 10 <= n, i == 0 || !dlpIsBase64URL(p[i - 1]) {
                    matchJWT(at: i)
                }
            case colon:
                if i + 2 < n, p[i + 1] == slash, p[i + 2] == slash {
                    matchURL(colonAt: i)
                } else if aws {
                    matchAWSSecretAssignment(at: i)
                }
            case equals:
                if aws { matchAWSSecretAssignment(at: i) }
                if i >= connCovered, config.has(.connectionString) { matchPasswordAssignment(at: i) }
            default:
                break
            }
            i += 1
        }
        if runStart >= 0, he, n - runStart >= minLen { evaluateToken(runStart, n) }
    }

    // MARK: Private keys

    /// After `-----BEGIN ` at `i`: a label of at most 64 `[A-Z0-9 ]` containing `PRIVATE KEY`, then `-----`.
    /// The match runs to the end of the first `-----END …-----` line after it, or to the end of the string if
    /// there is none (a truncated key is still a key).
    mutating func matchPEM(at i: Int) {
        let labelStart = i + 11
        var j = labelStart
        while j < n, j - labelStart <= 64, dlpIsUpper(p[j]) || dlpIsDigit(p[j]) || p[j] == 0x20 { j += 1 }
        guard hasLiteral("-----", at: j) else { return }
        var hasPrivateKey = false
        var k = labelStart
        while k + 11 <= j {
            if hasLiteral("PRIVATE KEY", at: k) { hasPrivateKey = true; break }
            k += 1
        }
        let from = j + 5
        var endMarker = -1
        if from >= pemNoEndFrom {
            endMarker = -1
        } else if pemEndCacheFrom <= from, from <= pemEndCacheAt {
            endMarker = pemEndCacheAt  // a BEGIN inside a block already searched: same END
        } else {
            var s = from
            while s + 8 <= n {
                if p[s] == dash, hasLiteral("-----END", at: s) { endMarker = s; break }
                s += 1
            }
            if endMarker < 0 {
                pemNoEndFrom = from
            } else {
                pemEndCacheFrom = from
                pemEndCacheAt = endMarker
            }
        }
        var end = n
        if endMarker >= 0 {
            // The END line: label then five dashes, bounded like the BEGIN label.
            var e = endMarker + 8
            while e < n, e - endMarker <= 80, p[e] != dash, p[e] != 0x0A { e += 1 }
            end = hasLiteral("-----", at: e) ? e + 5 : e
        }
        if hasPrivateKey {
            if config.has(.privateKey) { add(i, end, .privateKey) }
            pemCovered = end
        } else if endMarker >= 0 {
            publicPEMStart = i
            publicPEMEnd = end
        }
    }

    // MARK: AWS

    mutating func matchAWSKeyID(at i: Int) {
        let a = p[i + 1], b = p[i + 2], c = p[i + 3]
        let prefixOK: Bool
        switch (a, b, c) {
        case (0x4B, 0x49, 0x41),  // KIA
            (0x53, 0x49, 0x41),  // SIA
            (0x47, 0x50, 0x41),  // GPA
            (0x49, 0x44, 0x41),  // IDA
            (0x52, 0x4F, 0x41),  // ROA
            (0x4E, 0x50, 0x41),  // NPA
            (0x4E, 0x56, 0x41),  // NVA
            (0x49, 0x50, 0x41):  // IPA
            prefixOK = true
        default: prefixOK = false
        }
        guard prefixOK else { return }
        for k in (i + 4)..<(i + 20) where !(dlpIsUpper(p[k]) || dlpIsDigit(p[k])) { return }
        if i + 20 < n, dlpIsAlnum(p[i + 20]) { return }
        add(i, i + 20, .awsAccessKey)
    }

    /// `aws_secret_access_key = "…40…"` (also `AWS_SECRET_ACCESS_KEY=`, `"SecretAccessKey": "…"`): the name
    /// before the `=` or `:` at `i`, with `_`/`-` ignored and any case, ends with `secretaccesskey`.
    mutating func matchAWSSecretAssignment(at i: Int) {
        // Name, backwards: skip up to 4 spaces/quotes, then compare letters with "secretaccesskey" reversed.
        var k = i - 1
        var skipped = 0
        while k >= 0, skipped < 4, p[k] == 0x20 || p[k] == quote || p[k] == apostrophe { k -= 1; skipped += 1 }
        let want: StaticString = "yeksseccaterces"  // "secretaccesskey" reversed
        let w = want.utf8Start
        var wi = 0
        var steps = 0
        while wi < want.utf8CodeUnitCount, k >= 0, steps < 40 {
            let b = p[k]
            k -= 1
            steps += 1
            if b == 0x5F || b == dash { continue }
            guard dlpLower(b) == w[wi] else { return }
            wi += 1
        }
        guard wi == want.utf8CodeUnitCount else { return }
        // Value: skip up to 4 spaces/quotes, then exactly 40 base64 characters.
        var j = i + 1
        skipped = 0
        while j < n, skipped < 4, p[j] == 0x20 || p[j] == quote || p[j] == apostrophe { j += 1; skipped += 1 }
        guard j + 40 <= n else { return }
        for q in j..<(j + 40) where !dlpIsBase64Std(p[q]) { return }
        if j + 40 < n, dlpIsBase64Std(p[j + 40]) || p[j + 40] == equals { return }
        add(j, j + 40, .awsAccessKey)
    }

    // MARK: GitHub, Slack

    mutating func matchGitHub(at i: Int) {
        if p[i + 1] == 0x68, p[i + 3] == 0x5F {  // gh?_
            switch p[i + 2] {
            case 0x70, 0x6F, 0x75, 0x73, 0x72:  // p o u s r
                let e = runEnd(from: i + 4, dlpIsAlnum)
                if e - (i + 4) >= 36 { add(i, e, .githubToken) }
            default: break
            }
        } else if hasLiteral("github_pat_", at: i) {
            let e = runEnd(from: i + 11) { dlpIsAlnum($0) || $0 == 0x5F }
            if e - (i + 11) >= 22 { add(i, e, .githubToken) }
        }
    }

    mutating func matchSlackToken(at i: Int) {
        var bodyStart = -1
        if p[i + 1] == 0x6F, p[i + 2] == 0x78, p[i + 4] == dash {  // xox?-
            switch p[i + 3] {
            case 0x62, 0x70, 0x61, 0x72, 0x73: bodyStart = i + 5  // b p a r s
            default: return
            }
        } else if hasLiteral("xapp-", at: i) {
            bodyStart = i + 5
        } else {
            return
        }
        let e = runEnd(from: bodyStart) { dlpIsAlnum($0) || $0 == dash }
        guard e - bodyStart >= 10 else { return }
        // Real tokens are digit groups and a random part; require a digit so `xoxb-placeholder-value` is no match.
        var hasDigit = false
        for k in bodyStart..<e where dlpIsDigit(p[k]) { hasDigit = true; break }
        if hasDigit { add(i, e, .slackToken) }
    }

    // MARK: JWT

    /// JWS: `eyJ…` `.` `eyJ…` `.` signature (possibly empty), base64url segments. JWE: `eyJ…` and four more
    /// segments (encrypted key, possibly empty, IV, ciphertext, tag), five in all.
    mutating func matchJWT(at i: Int) {
        guard p[i + 1] == 0x79, p[i + 2] == 0x4A else { return }  // "eyJ"
        let e1 = runEnd(from: i, dlpIsBase64URL)
        guard e1 - i >= 10, (e1 - i) % 4 != 1, e1 < n, p[e1] == dot else { return }
        let s2 = e1 + 1
        let e2 = runEnd(from: s2, dlpIsBase64URL)
        guard e2 < n, p[e2] == dot, (e2 - s2) % 4 != 1 else { return }
        if hasLiteral("eyJ", at: s2), e2 - s2 >= 6 {
            let end = runEnd(from: e2 + 1, dlpIsBase64URL)
            add(i, end, .jwt)
            jwtCovered = end
            return
        }
        // JWE: three more non-empty segments after the encrypted key.
        var end = e2
        for _ in 0..<3 {
            guard end < n, p[end] == dot else { return }
            let next = runEnd(from: end + 1, dlpIsBase64URL)
            guard next > end + 1 else { return }
            end = next
        }
        add(i, end, .jwt)
        jwtCovered = end
    }

    // MARK: URLs

    mutating func matchURL(colonAt i: Int) {
        // Scheme, backwards: [A-Za-z0-9+.-], starting with a letter, at most 32 bytes.
        var k = i - 1
        while k >= 0, i - k <= 32, dlpIsAlnum(p[k]) || p[k] == 0x2B || p[k] == dot || p[k] == dash { k -= 1 }
        let schemeStart = k + 1
        guard schemeStart < i, dlpIsLetter(p[schemeStart]), k < 0 || !(dlpIsAlnum(p[k]) || p[k] == 0x2B) else { return }
        let authority = i + 3
        if config.has(.slackToken), i - schemeStart == 5, hasLiteralIgnoringCase("https", at: schemeStart),
            hasLiteral("hooks.slack.com/services/", at: authority)
        {
            matchSlackWebhook(schemeStart: schemeStart, pathStart: authority + 25)
        }
        guard config.has(.credentialURL) else { return }
        var j = authority
        var lastAt = -1
        var firstColon = -1
        while j < n {
            let b = p[j]
            if b <= 0x20 || b == slash || b == 0x3F || b == 0x23 || b == quote || b == apostrophe || b == 0x3C
                || b == 0x3E || b == 0x60 || b == 0x5C || b == 0x7F
            {
                break
            }
            if b == at { lastAt = j }
            j += 1
        }
        guard lastAt > authority, lastAt + 1 < j else { return }  // userinfo and host both non-empty
        var c = authority
        while c < lastAt {
            if p[c] == colon { firstColon = c; break }
            c += 1
        }
        guard firstColon >= 0, firstColon + 1 < lastAt, !isPlaceholder(firstColon + 1, lastAt) else { return }
        add(firstColon + 1, lastAt, .credentialURL)
    }

    /// `https://hooks.slack.com/services/T…/B…/secret`: the whole URL.
    mutating func matchSlackWebhook(schemeStart: Int, pathStart: Int) {
        guard pathStart < n, p[pathStart] == 0x54 else { return }  // T
        let e1 = runEnd(from: pathStart, dlpIsAlnum)
        guard e1 - pathStart >= 3, e1 + 1 < n, p[e1] == slash, p[e1 + 1] == 0x42 else { return }  // /B
        let e2 = runEnd(from: e1 + 1, dlpIsAlnum)
        guard e2 - (e1 + 1) >= 3, e2 < n, p[e2] == slash else { return }
        let e3 = runEnd(from: e2 + 1, dlpIsAlnum)
        guard e3 - (e2 + 1) >= 8 else { return }
        add(schemeStart, e3, .slackToken)
    }

    // MARK: Password assignments

    /// `Password=…`, `Pwd=…`, `Passwd=…` (any case) where the name is not preceded by a letter or digit.
    mutating func matchPasswordAssignment(at i: Int) {
        var k = i - 1
        var skipped = 0
        while k >= 0, skipped < 4, p[k] == 0x20 { k -= 1; skipped += 1 }
        let nameEnd = k + 1
        while k >= 0, nameEnd - k <= 8, dlpIsLetter(p[k]) { k -= 1 }
        if k >= 0, dlpIsAlnum(p[k]) { return }
        let nameStart = k + 1
        // ADO/ODBC mode (name at the start or after `;`): the value runs to the next `;` and may hold spaces.
        // Otherwise (`--password=`, `?password=`, ` pwd=`) it ends at white space, `;`, `&` or a quote.
        var b = k
        while b >= 0, p[b] == 0x20 { b -= 1 }
        let adoMode = b < 0 || p[b] == 0x3B
        let len = nameEnd - nameStart
        guard (len == 8 && hasLiteralIgnoringCase("password", at: nameStart))
            || (len == 3 && hasLiteralIgnoringCase("pwd", at: nameStart))
            || (len == 6 && hasLiteralIgnoringCase("passwd", at: nameStart))
        else { return }
        var j = i + 1
        skipped = 0
        while j < n, skipped < 4, p[j] == 0x20 { j += 1; skipped += 1 }
        guard j < n else { return }
        let valueStart: Int
        var valueEnd: Int
        let open = p[j]
        if open == quote || open == apostrophe || open == 0x7B {  // "…", '…', {…} (ODBC)
            let close = open == 0x7B ? 0x7D : open
            valueStart = j + 1
            valueEnd = valueStart
            while valueEnd < n, p[valueEnd] != close { valueEnd += 1 }
        } else {
            valueStart = j
            valueEnd = j
            if adoMode {
                while valueEnd < n, p[valueEnd] != 0x3B { valueEnd += 1 }
                connCovered = max(connCovered, valueEnd)
                while valueEnd > valueStart, p[valueEnd - 1] == 0x20 { valueEnd -= 1 }
            } else {
                while valueEnd < n {
                    let b = p[valueEnd]
                    if b == 0x3B || b == 0x26 || b <= 0x20 || b == quote || b == apostrophe { break }  // ; & space
                    valueEnd += 1
                }
            }
        }
        connCovered = max(connCovered, valueEnd)
        guard valueEnd > valueStart, !isPlaceholder(valueStart, valueEnd) else { return }
        add(valueStart, valueEnd, .connectionString)
    }

    /// Obvious placeholders rather than passwords: `${VAR}`, `$(cmd)`, `{{ var }}`, `<password>`, `[redacted]`, `%s`,
    /// `%(name)s`, and values made only of `*` or only of `x`/`X`.
    func isPlaceholder(_ s: Int, _ e: Int) -> Bool {
        let first = p[s], last = p[e - 1]
        let len = e - s
        if first == 0x24, len >= 2, p[s + 1] == 0x7B || p[s + 1] == 0x28 { return true }  // ${ $(
        if len >= 4, first == 0x7B, p[s + 1] == 0x7B, last == 0x7D { return true }  // {{…}}
        if len >= 3, first == 0x3C, last == 0x3E { return true }  // <…>
        if len >= 3, first == 0x5B, last == 0x5D { return true }  // […], e.g. an earlier [redacted:…]
        if first == 0x25, len == 2 || (len >= 4 && p[s + 1] == 0x28) { return true }  // %s %(x)s
        var allStar = true, allX = true
        for k in s..<e {
            if p[k] != 0x2A { allStar = false }
            if p[k] | 0x20 != 0x78 { allX = false }
        }
        return allStar || (allX && len >= 3)
    }

    // MARK: High entropy

    /// A maximal run of `[A-Za-z0-9+/=_-]` at least `entropyMinLength` long.
    mutating func evaluateToken(_ s: Int, _ e: Int) {
        let len = e - s
        var allDigits = true, allHex = true
        for k in s..<e {
            let b = p[k]
            if !dlpIsDigit(b) {
                allDigits = false
                if !dlpIsHex(b) { allHex = false; break }
            }
        }
        if allDigits { return }  // numbers are not secrets
        if s >= publicPEMStart, s < publicPEMEnd { return }
        // SSH public keys (ssh-rsa, ssh-ed25519, ecdsa-sha2-*): "AAAA" + the base64 of a length and the type.
        if hasLiteral("AAAAB3NzaC1", at: s) || hasLiteral("AAAAC3NzaC1", at: s) || hasLiteral("AAAAE2VjZHNh", at: s) {
            return
        }
        if len == 36, isCanonicalUUID(s) { return }
        if hasDigestLabel(before: s) { return }
        if hasLiteral("sha256-", at: s) || hasLiteral("sha384-", at: s) || hasLiteral("sha512-", at: s) {
            return  // subresource-integrity digests
        }
        if allHex {
            if len >= max(DLPConfig.hexMinLength, config.entropyMinLength),
                entropy(s, e) >= DLPConfig.hexThreshold
            {
                add(s, e, .highEntropy)
            }
            return
        }
        if isIdentifierLike(s, e) { return }
        if entropy(s, e) >= config.entropyThreshold {
            add(s, e, .highEntropy)
            return
        }
        // A long hex part inside an otherwise low-entropy token (`dop_v1_<64 hex>`).
        var segStart = s
        for k in s...e where k == e || !dlpIsAlnum(p[k]) {
            if k - segStart >= DLPConfig.hexMinLength, (segStart..<k).allSatisfy({ dlpIsHex(p[$0]) }),
                entropy(segStart, k) >= DLPConfig.hexThreshold
            {
                add(s, e, .highEntropy)
                return
            }
            segStart = k + 1
        }
    }

    func isCanonicalUUID(_ s: Int) -> Bool {
        for k in 0..<36 {
            let b = p[s + k]
            if k == 8 || k == 13 || k == 18 || k == 23 {
                if b != dash { return false }
            } else if !dlpIsHex(b) {
                return false
            }
        }
        return true
    }

    /// `sha256:<hex>` and the like (container image and content digests): the token follows `<algorithm>:`.
    func hasDigestLabel(before s: Int) -> Bool {
        guard s >= 4, p[s - 1] == colon else { return false }
        var k = s - 2
        while k >= 0, s - 1 - k <= 7, dlpIsAlnum(p[k]) { k -= 1 }
        let start = k + 1
        switch s - 1 - start {
        case 3: return hasLiteralIgnoringCase("md5", at: start)
        case 4: return hasLiteralIgnoringCase("sha1", at: start)
        case 6:
            return hasLiteralIgnoringCase("sha224", at: start) || hasLiteralIgnoringCase("sha256", at: start)
                || hasLiteralIgnoringCase("sha384", at: start) || hasLiteralIgnoringCase("sha512", at: start)
        default: return false
        }
    }

    /// Names rather than secrets: every part between `-`, `_`, `/` separators is letters followed by optional
    /// digits (`AdministratorAccess`, `cluster01`), or lower-case letters and digits up to 16 long (`7db6d8ff4d`),
    /// or digits. A random base64 string almost never splits that way (mixed case and digits inside parts).
    func isIdentifierLike(_ s: Int, _ e: Int) -> Bool {
        var k = s
        while k < e {
            // One part.
            let partStart = k
            var sawDigit = false, sawUpper = false, digitThenLetter = false
            while k < e, dlpIsAlnum(p[k]) {
                let b = p[k]
                if dlpIsDigit(b) {
                    sawDigit = true
                } else {
                    if sawDigit { digitThenLetter = true }
                    if dlpIsUpper(b) { sawUpper = true }
                }
                k += 1
            }
            let partLen = k - partStart
            let lettersThenDigits = !digitThenLetter
            let shortLowerAlnum = !sawUpper && partLen <= 16
            if !(lettersThenDigits || shortLowerAlnum) { return false }
            // Separator.
            if k < e {
                let b = p[k]
                guard b == dash || b == 0x5F || b == slash else { return false }  // + and = are not name characters
                k += 1
            }
        }
        return true
    }

    /// Shannon entropy of the bytes in bits per byte.
    func entropy(_ s: Int, _ e: Int) -> Double {
        let len = e - s
        // Token characters are ASCII: 128 counters.
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 128) { counts in
            counts.initialize(repeating: 0)
            for k in s..<e { counts[Int(p[k] & 0x7F)] &+= 1 }
            let table = cLog2cTable
            var sum = 0.0
            for k in s..<e {
                let c = counts[Int(p[k] & 0x7F)]
                if c != 0 {
                    sum += c < 256 ? table[Int(c)] : Double(c) * dlpLog2(Double(c))
                    counts[Int(p[k] & 0x7F)] = 0
                }
            }
            let n = Double(len)
            return dlpLog2(n) - sum / n
        }
    }
}

/// `c * log2(c)` for c in 0..<256.
private let cLog2cTable: [Double] = (0..<256).map { $0 == 0 ? 0 : Double($0) * dlpLog2(Double($0)) }

#if canImport(Glibc)
    import Glibc
    @inline(__always) func dlpLog2(_ x: Double) -> Double { Glibc.log2(x) }
#elseif canImport(Musl)
    import Musl
    @inline(__always) func dlpLog2(_ x: Double) -> Double { Musl.log2(x) }
#elseif canImport(Darwin)
    import Darwin
    @inline(__always) func dlpLog2(_ x: Double) -> Double { Darwin.log2(x) }
#endif
