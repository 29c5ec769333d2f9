import AgentSafeCore
import Crypto
import Foundation
import Testing

@testable import AgentSafeTickets

/// The ticket fast paths (payload written as bytes, header segments recognised, claims read into slots, base64url
/// a block at a time) against the reference path they replaced (LegacyVerifier.swift): same tokens out, and for
/// every token in, the same claims or the same refusal (code and message).
@Suite("Ticket fast paths agree with the reference path")
struct FastPathTests {
    static let key = Keys.hmac
    static let ring = try! KeyRing([Keys.hmac, Keys.ec])

    /// Both verifiers' verdicts on `token` must be identical.
    func agree(_ token: String, settings: TicketSettings = TicketSettings(), expect: TicketExpectation = .init(),
               now: Int64 = Keys.now, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let fast = Result { () throws(TokenError) -> TicketClaims in
            try TicketVerifier(ring: Self.ring, settings: settings).inspect(token, expect: expect, now: now)
        }
        let reference = Result { () throws(TokenError) -> TicketClaims in
            try LegacyTicketVerifier.inspect(token, ring: Self.ring, settings: settings, expect: expect, now: now)
        }
        switch (fast, reference) {
        case (.success(let a), .success(let b)): #expect(a == b, "\(token)", sourceLocation: sourceLocation)
        case (.failure(let a), .failure(let b)): #expect(a == b, "\(token)", sourceLocation: sourceLocation)
        default: Issue.record("verdicts differ on \(token): \(fast) vs \(reference)", sourceLocation: sourceLocation)
        }
    }

    /// A token with this payload text, signed with the test HMAC key under our own header (the fast header path).
    func token(payload: String, header: String? = nil) -> String {
        let headerSegment = header.map { Base64URL.encode(Array($0.utf8)) }
            ?? String(decoding: JWS.headerSegment(typ: TicketSettings.typ, key: Self.key), as: UTF8.self)
        let input = headerSegment + "." + Base64URL.encode(Array(payload.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Keys.hmacBytes))
        return input + "." + Base64URL.encode(Array(mac))
    }

    static let requests: [TicketRequest] = [
        Keys.request(),
        Keys.request([ChainLink(agentID: "orchestrator", roles: ["deployer"]), ChainLink(agentID: "planner", groups: ["g"],
                                                                                         delegatedAt: "2027-01-15T08:00:00Z", expires: Keys.now + 60)]),
        TicketRequest(action: "a\"b\\c\n", target: "t/é/😀", caller: "c\u{01}", params: [:], auditID: "evt"),
        TicketRequest(action: "x", target: "y", caller: "z", params: [
            "nested": ["a": ["b": [1, 2.5, nil, true, ["c": "d"]]]], "K": "kelvin", "\u{212A}x": 1, "é": "e\u{301}",
            "big": .integer(.max), "small": .integer(.min), "float": 1e300, "esc": "\"\\/\u{7F}",
        ], auditID: "evt-1", risk: "critical", cumulativeRisk: 0.75, changeTicket: "CHG-1"),
        TicketRequest(action: "x", target: "y", caller: "z", params: ["n": 3], auditID: "a", cumulativeRisk: 3.0),
    ]

    @Test func payloadBytesAreThePayloadText() throws {
        for (i, request) in Self.requests.enumerated() {
            for settings in [TicketSettings(), TicketSettings(issuer: "i\"ss", audience: "aud")] {
                let ticket = try TicketIssuer(ring: try KeyRing([Self.key]), settings: settings).issue(request, now: Keys.now)
                let text = ticket.claims.payloadText(paramsText: JSONValue.object(request.params).canonicalText,
                                                     paramsDigest: TicketClaims.paramsDigest(request.params))
                #expect(Keys.payloadText(ticket.token) == text, "request \(i)")
                // The token as the reference JWS.sign would have written it.
                var header = #"{"alg":"HS256","kid":"#
                JSONValue.string(Self.key.kid).appendCompact(to: &header)
                header += #","typ":"agent-safe-ticket+jwt"}"#
                #expect(Keys.segments(ticket.token)[0] == LegacyBase64.encode(Array(header.utf8)))
                #expect(Keys.segments(ticket.token)[1] == LegacyBase64.encode(Array(text.utf8)))
                #expect(ticket.claims.paramsSHA256 == LegacyJWS.paramsDigest(request.params))
                // Multi-audience and many-link payloads go through the same writer.
                var claims = ticket.claims
                claims.audience = ["a", "b\"c"]
                var bytes: [UInt8] = []
                Array(JSONValue.object(request.params).canonicalText.utf8).withUnsafeBufferPointer {
                    claims.appendPayload(to: &bytes, paramsJSON: $0, paramsDigest: "d")
                }
                #expect(bytes == Array(claims.payloadText(paramsText: JSONValue.object(request.params).canonicalText,
                                                          paramsDigest: "d").utf8))
            }
        }
    }

    @Test func issuedTicketsVerifyAlike() throws {
        for request in Self.requests {
            for key in [Keys.hmac, Keys.ec] {
                for settings in [TicketSettings(), TicketSettings(audience: "aud")] {
                    let t = try TicketIssuer(ring: try KeyRing([key]), settings: settings).issue(request, now: Keys.now)
                    agree(t.token, settings: settings)
                    agree(t.token, settings: settings, expect: TicketExpectation(action: request.action, target: request.target,
                                                                                 params: request.params))
                    agree(t.token, settings: settings, expect: TicketExpectation(params: ["n": JSONValue.number(3.0)]))
                    agree(t.token, settings: settings, now: Keys.now + 400)
                    agree(t.token)
                    #expect(try TicketVerifier(ring: Self.ring, settings: settings).inspect(t.token, now: Keys.now) == t.claims)
                }
            }
        }
    }

    @Test func adversarialPayloads() {
        let base = Keys.payloadText(Keys.issue(Self.key).token)
        let body = String(base.dropLast())  // without the closing brace
        let exp = #""exp":\#(Keys.now + 300)"#
        var payloads: [String] = []
        payloads += [base, body + #","action":"other"}"#, body + #","\u0061ction":"other"}"#, body + #","x":1,"x":2}"#]
        payloads += [body + #","params":{}}"#, body + #","type":"execution-ticket"}"#, body + #","\u212a":1,"K":2}"#]
        payloads += [body + #","nested":{"a":1,"a":2}}"#, body + #","big":99999999999999999999}"#, body + #","big":1e400}"#]
        payloads += [body + #","deep":"# + String(repeating: "[", count: 31) + String(repeating: "]", count: 31) + "}"]
        payloads += [body + #","deep":"# + String(repeating: "[", count: 30) + String(repeating: "]", count: 30) + "}"]
        payloads += [body + "}}", body + " }", body + "} ", body + "\u{0}}", body + #","s":"\ud800"}"#, body + #","s":"é\u00e9"}"#]
        payloads += [base.replacingOccurrences(of: #""action""#, with: #""\u0061ction""#)]
        payloads += [base.replacingOccurrences(of: #""action":"scale-deployment""#, with: #""action":"scale-\u0064eployment""#)]
        payloads += [base.replacingOccurrences(of: #""type""#, with: #""typ\u0065""#)]
        payloads += [base.replacingOccurrences(of: #""exp":"#, with: #""exp":1e400,"ignored":"#)]
        payloads += [base.replacingOccurrences(of: exp, with: #""exp":99999999999999999999"#)]
        payloads += [base.replacingOccurrences(of: exp, with: #""exp":\#(Keys.now + 300).9"#)]
        payloads += [base.replacingOccurrences(of: exp, with: #""exp":1e15"#)]
        payloads += [base.replacingOccurrences(of: exp, with: #""exp":"soon""#)]
        payloads += [base.replacingOccurrences(of: #""replicas":3"#, with: #""replicas":3.0"#)]
        payloads += [base.replacingOccurrences(of: #""params":{"#, with: #""params":{"deep":{"x":[1,{"y":null}]},"#)]
        payloads += [base.replacingOccurrences(of: #""params":{"#, with: #""params":{"a":1,"a":1,"#)]
        payloads += [base.replacingOccurrences(of: #""delegation_depth":0"#, with: #""delegation_depth":0.0"#)]
        payloads += [base.replacingOccurrences(of: #""delegation_depth":0"#, with: #""delegation_depth":null"#)]
        payloads += [base.replacingOccurrences(of: #""risk":{"class":"high"}"#, with: #""risk":"high""#)]
        payloads += [base.replacingOccurrences(of: ",", with: " ,\n "), base.replacingOccurrences(of: "\"", with: "'")]
        payloads += ["[" + base + "]", "\"" + base + "\"", "null", "", " ", "{}", "\u{FEFF}" + base]
        for name in TicketClaim.names {
            payloads.append(base.replacingOccurrences(of: "\"\(name)\":", with: "\"\(name)\":null,\"\(name)_\":"))
            payloads.append(body + ",\"\(name)\":null}")
        }
        for payload in payloads { agree(token(payload: payload)) }
        // Not UTF-8, before or inside a string.
        for bad: [UInt8] in [[0xFF], [0xC3], [0xED, 0xA0, 0x80]] {
            for at in [0, base.utf8.count / 2, base.utf8.count - 1] {
                var bytes = Array(base.utf8)
                bytes.insert(contentsOf: bad, at: at)
                let input = String(decoding: JWS.headerSegment(typ: TicketSettings.typ, key: Self.key), as: UTF8.self) + "."
                    + LegacyBase64.encode(bytes)
                let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Keys.hmacBytes))
                agree(input + "." + Base64URL.encode(Array(mac)))
            }
        }
    }

    @Test func headersOtherThanOursTakeTheParsedPath() {
        let payload = Keys.payloadText(Keys.issue(Self.key).token)
        let kid = Self.key.kid
        for header in [
            #"{"alg":"HS256","kid":"\#(kid)","typ":"agent-safe-ticket+jwt"}"#,  // ours, byte for byte
            #"{"alg":"HS256","kid":"\#(kid)","typ":"agent-safe-ticket+jwt"} "#, #"{"alg":"HS256","typ":"JWT"}"#,
            #"{"kid":"\#(kid)","alg":"HS256","typ":"agent-safe-ticket+jwt"}"#, #"{"alg":"HS256","kid":"\#(kid)"}"#,
            #"{"alg":"HS256","kid":"\#(kid)","typ":"agent-safe-identity+jwt"}"#, #"{"alg":"ES256","kid":"\#(kid)"}"#,
            #"{"alg":"HS256","kid":"\#(kid)","typ":"agent-safe-ticket+jwt","crit":[]}"#, #"{"alg":"HS256","kid":1}"#,
            #"{"alg":"HS256","alg":"HS256"}"#, #"{"alg":"none"}"#, "[]", "{", "",
        ] {
            agree(token(payload: payload, header: header))
        }
    }

    @Test func mutatedTokens() {
        var rng = TestRandom(seed: 7)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ".utf8)
        let tokens = Self.requests.map { try! TicketIssuer(ring: try! KeyRing([Self.key])).issue($0, now: Keys.now).token }
            + [Keys.issue(Keys.ec).token]
        for token in tokens {
            let bytes = Array(token.utf8)
            for _ in 0..<300 {
                var t = bytes
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: t = Array(t[..<Int.random(in: 0..<t.count, using: &rng)])  // truncated
                case 1: t[Int.random(in: 0..<t.count, using: &rng)] = alphabet.randomElement(using: &rng)!
                case 2: t.remove(at: Int.random(in: 0..<t.count, using: &rng))
                default: t.insert(alphabet.randomElement(using: &rng)!, at: Int.random(in: 0...t.count, using: &rng))
                }
                agree(String(decoding: t, as: UTF8.self))
            }
        }
    }

    @Test func mutatedPayloadsSignedAgain() {
        // Valid signatures over damaged JSON: every refusal must come from the same check as before.
        var rng = TestRandom(seed: 11)
        let replacements = Array("{}[],:\"\\ 0123456789.eE-+ntrufalsx".utf8)
        let payloads = Self.requests.map {
            Keys.payloadText(try! TicketIssuer(ring: try! KeyRing([Self.key])).issue($0, now: Keys.now).token)
        }
        for payload in payloads {
            let bytes = Array(payload.utf8)
            for _ in 0..<400 {
                var p = bytes
                let at = Int.random(in: 0..<p.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: p = Array(p[..<at])
                case 1: p[at] = replacements.randomElement(using: &rng)!
                default: p.insert(replacements.randomElement(using: &rng)!, at: at)
                }
                agree(token(payload: String(decoding: p, as: UTF8.self)))
            }
        }
    }

    @Test func base64urlMatchesTheReference() {
        var rng = TestRandom(seed: 3)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. ".utf8)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let encoded = Base64URL.encode(bytes)
            #expect(encoded == LegacyBase64.encode(bytes))
            #expect(Base64URL.decode(encoded) == bytes)
            // Random text, mostly in the alphabet: same verdict and bytes.
            let text = (0..<length).map { _ in
                Int.random(in: 0..<10, using: &rng) == 0 ? alphabet.randomElement(using: &rng)! : alphabet[Int.random(in: 0..<64, using: &rng)]
            }
            #expect(Base64URL.decode(text) == LegacyBase64.decode(text), "\(String(decoding: text, as: UTF8.self))")
            // Non-zero trailing bits are refused as before.
            if var last = encoded.utf8.last, length % 3 != 0 {
                last = last == UInt8(ascii: "_") ? UInt8(ascii: "A") : last + 1
                let tweaked = Array(encoded.utf8.dropLast()) + [last]
                #expect(Base64URL.decode(tweaked) == LegacyBase64.decode(tweaked))
            }
        }
    }

    @Test func preparedHMACIsHMACSHA256() {
        var rng = TestRandom(seed: 99)
        for keyLength in [0, 1, 31, 32, 33, 63, 64, 65, 100, 128, 200] {
            let key = SymmetricKey(data: (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &rng) })
            let prepared = PreparedHMACSHA256(key: key)
            for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 500, 1000] {
                let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let ours = message.withUnsafeBytes { prepared.authenticationCode(for: $0) }
                #expect(ours == Array(HMAC<SHA256>.authenticationCode(for: message, using: key)), "key \(keyLength), message \(length)")
            }
        }
        #expect(PreparedHMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!PreparedHMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!PreparedHMACSHA256.constantTimeEqual([1, 2, 3], [1, 2]))
    }

    @Test func jtiIsRandomAndWellFormed() async throws {
        // More words than one refill of the pool holds (4 KiB), from several threads at once.
        let words = await withTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<4 { group.addTask { var rng = SecureRandom(); return (0..<1000).map { _ in rng.next() } } }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(words).count == 4000)
        #expect(!words.contains(0))
        let issuer = try TicketIssuer(ring: try KeyRing([Self.key]))
        let jtis = try (0..<32).map { _ in try issuer.issue(Keys.request(), now: Keys.now).jti }
        #expect(Set(jtis).count == 32)
        #expect(jtis.allSatisfy { $0.utf8.count == 32 && $0.utf8.allSatisfy { Hex.digits.contains($0) } })
    }
}

/// Deterministic generator for reproducible test inputs.
typealias TestRandom = SplitMix64
