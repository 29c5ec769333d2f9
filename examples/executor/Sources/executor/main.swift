// A minimal executor for Agent-Safe execution tickets.
//
// It is handed a ticket together with the action, target and params it is about to run. Before running anything it
// verifies the ticket (signature with a pinned algorithm, type, issuer, audience, time, params digest, and that the
// ticket is for exactly this action, target and params) and spends it in a durable SQLite store, so the same
// ticket is never executed twice — not even after a restart, and not by two executors sharing the store file.
//
//   executor (--jwks FILE | --key FILE) --store PATH --action NAME --target ID --params JSON
//            [--audience AUD] [--issuer ISS] [--leeway SECONDS] [--durability normal|full] (TOKEN | -)
//
// Exit codes: 0 the ticket was valid and has been spent (the action would run now), 1 refused, 2 usage error.

import AgentSafeCore
import AgentSafeStore
import AgentSafeTickets
import Foundation

struct Options {
    var jwks: String?
    var key: String?
    var store: String?
    var action: String?
    var target: String?
    var params: String?
    var audience: String?
    var issuer = "agent-safe"
    var leeway: Int64 = 30
    var durability = SQLiteReplayStore.Durability.normal
    var token: String?
}

let usage = """
    usage: executor (--jwks FILE | --key FILE) --store PATH --action NAME --target ID --params JSON
                    [--audience AUD] [--issuer ISS] [--leeway SECONDS] [--durability normal|full] (TOKEN | -)
    """

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(code)
}

func parseArguments(_ arguments: [String]) -> Options {
    var options = Options()
    var i = 0
    func value(_ flag: String) -> String {
        i += 1
        guard i < arguments.count else { fail("\(flag) needs a value\n\(usage)", code: 2) }
        return arguments[i]
    }
    while i < arguments.count {
        let argument = arguments[i]
        switch argument {
        case "--jwks": options.jwks = value(argument)
        case "--key": options.key = value(argument)
        case "--store": options.store = value(argument)
        case "--action": options.action = value(argument)
        case "--target": options.target = value(argument)
        case "--params": options.params = value(argument)
        case "--audience": options.audience = value(argument)
        case "--issuer": options.issuer = value(argument)
        case "--leeway":
            guard let l = Int64(value(argument)), (0...300).contains(l) else { fail("--leeway is 0...300 seconds", code: 2) }
            options.leeway = l
        case "--durability":
            guard let d = SQLiteReplayStore.Durability(rawValue: value(argument)) else {
                fail("--durability is normal or full", code: 2)
            }
            options.durability = d
        case "-h", "--help":
            print(usage)
            exit(0)
        default:
            guard options.token == nil, argument == "-" || !argument.hasPrefix("-") else {
                fail("unexpected argument \(argument)\n\(usage)", code: 2)
            }
            options.token = argument
        }
        i += 1
    }
    return options
}

/// The verification keys: the public keys of a JWKS document, or one key file (a PEM public key for ES256; an
/// HMAC key file if your tickets are HS256). A private PEM is reduced to its public half: an executor never signs.
func loadKeys(_ options: Options) -> KeyRing {
    do {
        if let jwks = options.jwks {
            guard let data = FileManager.default.contents(atPath: jwks) else { fail("cannot read \(jwks)", code: 2) }
            return try JWK.parseSet(String(decoding: data, as: UTF8.self))
        }
        let key = try KeyFile.load(source: options.key!)
        return try KeyRing([key.publicOnly ?? key])
    } catch {
        fail("keys: \(error.description)", code: 2)
    }
}

let options = parseArguments(Array(CommandLine.arguments.dropFirst()))
guard (options.jwks == nil) != (options.key == nil) else { fail("give --jwks FILE or --key FILE\n\(usage)", code: 2) }
guard let storePath = options.store, let action = options.action, let target = options.target,
    let paramsText = options.params, let tokenArgument = options.token
else { fail(usage, code: 2) }

// The params this executor is about to use. The ticket must carry exactly these (compared as canonical JSON).
guard case .object(let params)? = try? JSONValue.parse(paramsText) else { fail("--params must be a JSON object", code: 2) }

// The ticket: from argv, or from stdin with `-` (keeps it out of the process list).
let token: String
if tokenArgument == "-" {
    token = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
} else {
    token = tokenArgument
}

let ring = loadKeys(options)
let store: SQLiteReplayStore
do {
    store = try SQLiteReplayStore(path: storePath, durability: options.durability)
} catch {
    fail("cannot open the replay store \(storePath): \(error)", code: 2)
}

// Issuer, audience and leeway as the sidecar is configured (issuer:, tickets.audience:, tickets.leeway_seconds:).
let verifier = TicketVerifier(
    ring: ring,
    settings: TicketSettings(issuer: options.issuer, audience: options.audience, leewaySeconds: options.leeway),
    replayGuard: store)

do {
    // Checks everything, then records the jti: of two concurrent calls with one ticket exactly one gets here.
    // Spend first, then act: a crash after this line loses the ticket rather than running the action twice.
    let claims = try verifier.verifyAndConsume(
        token, expect: TicketExpectation(action: action, target: target, params: params),
        now: Int64(Date().timeIntervalSince1970))
    print("EXECUTE \(claims.action) on \(claims.target)")
    print("  params:  \(JSONValue.object(claims.params).canonicalText)")
    let chain = claims.delegationChain.map(\.agentID) + [claims.caller]
    print("  caller:  \(chain.joined(separator: " → "))")
    print("  ticket:  \(claims.jti) (audit \(claims.auditID), risk \(claims.risk ?? "-"))")
    // … run the action here …
} catch {
    // `error.code` is stable (docs/tickets.md); `error.message` is for people.
    print("REFUSED \(error.code.rawValue): \(error.message)")
    exit(1)
}
