import AgentSafeConfig
import AgentSafeCore
import AgentSafeStore
import AgentSafeTickets
import ArgumentParser
import Foundation

/// Ticket and identity keys from the configuration, loaded on demand.
struct TokenContext {
    let setup: TokenSetup?
    let config: ProjectConfig

    /// Loads the keys named by agent-safe.yaml; prints located errors and exits 1 when a key can't be loaded.
    static func load(_ config: ProjectConfig) throws -> TokenContext {
        let result = Result { () throws(ConfigLoadError) in try TokenSetup.load(config) }
        switch result {
        case .success(let setup):
            return TokenContext(setup: setup, config: config)
        case .failure(let error):
            for d in error.diagnostics { Console.error(d.description) }
            Console.error("error: keys not loaded")
            throw ExitCode(1)
        }
    }

    /// The configuration's keys, or a usage error naming what to configure.
    func required() throws -> TokenSetup {
        guard let setup else {
            throw Console.fail("no keys configured: add a 'tickets:' section (or upstream's 'signing_key') to agent-safe.yaml; see docs/tickets.md")
        }
        return setup
    }

    /// A caller from a verified identity token; refused tokens stop the command (never a silent fallback).
    func caller(fromIdentityToken token: String, now: Int64) throws -> Caller {
        let setup = try required()
        do {
            return try setup.identity.verify(token, now: now).caller
        } catch {
            throw Console.fail("identity token refused: \(error.code.rawValue): \(error.message)")
        }
    }

    /// A ticket for an allowed decision when keys are configured; `nil` otherwise.
    func ticket(for decision: Decision, request: DecisionRequest, now: Int64) throws -> ExecutionTicket? {
        guard decision.result == .allow, let issuer = setup?.issuer else { return nil }
        let chain = (request.caller?.verifiedChain ?? []).map { ChainLink(agentID: $0.agentID, agentName: $0.agentName) }
        let ticketRequest = TicketRequest(
            action: decision.action, target: decision.target ?? "unknown", caller: decision.caller, params: request.params,
            auditID: decision.auditID, delegationChain: chain, risk: decision.effectiveRisk.rawValue,
            changeTicket: request.ticketID)
        do {
            return try issuer.issue(ticketRequest, now: now)
        } catch {
            throw Console.fail("cannot sign the ticket: \(error.description)")
        }
    }

    /// The durable replay store in the configured state directory.
    func replayStore() throws -> SQLiteReplayStore {
        let path = config.stateDirectory + "/state.sqlite"
        do {
            return try SQLiteReplayStore(path: path, durability: config.state.durability == "full" ? .full : .normal)
        } catch {
            throw Console.fail("cannot open the state store \(path): \(error)")
        }
    }
}

enum Clock {
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}

/// Reads a token given on the command line, or from stdin when it is `-` (keeps it out of the process list).
func readToken(_ argument: String) throws -> String {
    if argument == "-" {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    return argument.trimmingCharacters(in: .whitespacesAndNewlines)
}
