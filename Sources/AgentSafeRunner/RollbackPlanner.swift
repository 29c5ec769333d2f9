import AgentSafeAudit
import AgentSafeCore

/// Builds the compensating request of an executed action from the audit log (docs/executors.md, "Rollback").
///
/// Only a successful `execution` event can be rolled back; `params.x` sources come from its params, and
/// `before_state.x` from the `state_capture` event linked to it. The result is a request for the policy decision
/// point — never an execution.
public enum RollbackPlanner {
    public struct Plan: Sendable, Hashable {
        public var action: String
        public var target: String?
        public var params: [String: JSONValue]
        public var caller: String?
        /// The execution's audit id (the rollback decision's `correlation_id`).
        public var executionID: String

        public var request: JSONValue {
            var o: [String: JSONValue] = [
                "action": .string(action), "target": target.map(JSONValue.string) ?? .null, "params": .object(params),
                "correlation_id": .string(executionID),
            ]
            if let caller, !caller.isEmpty { o["caller"] = .string(caller) }
            return .object(o)
        }
    }

    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// Finds the execution whose audit id — or whose allowing decision's audit id — is `id` in `events` (audit
    /// lines in order), and builds its rollback request.
    public static func plan(id: String, events: some Sequence<JSONValue>, actions: [String: ActionDefinition],
                            overrides: [String: JSONValue] = [:], caller: String? = nil) throws(Failure) -> Plan {
        var execution: JSONValue?
        var state: JSONValue?
        for event in events {
            let type = event["event_type"]?.stringValue
            if type == "execution", event["context"]?["status"] == "success",
                event["event_id"]?.stringValue == id || event["correlation_id"]?.stringValue == id
            {
                execution = event
                state = nil
            } else if type == "state_capture", let exec = execution?["event_id"]?.stringValue,
                event["context"]?["execution_id"]?.stringValue == exec
            {
                state = event
            }
        }
        guard let execution, let executionID = execution["event_id"]?.stringValue,
            let actionName = execution["action"]?.stringValue
        else {
            throw Failure("no successful execution with audit id \(id); only executed actions can be rolled back")
        }
        guard let action = actions[actionName] else { throw Failure("action '\(actionName)' is not in the catalogue") }
        guard action.reversible, let rollback = action.rollbackAction, !rollback.isEmpty else {
            throw Failure("'\(actionName)' is not reversible (it has no rollback_action)")
        }
        let original = execution["params"]?.objectValue ?? [:]
        let before = state?["context"]?["before"]?.objectValue ?? [:]
        var params: [String: JSONValue] = [:]
        for (name, source) in action.rollbackParams.sorted(by: { $0.key < $1.key }) {
            if let given = overrides[name] {
                params[name] = given
                continue
            }
            let value: JSONValue? = switch source.origin {
            case .params: original[source.field]
            case .beforeState: before[source.field]
            }
            guard let value, value != .null else {
                throw Failure("rollback param '\(name)' needs \(source.source), which the log doesn't hold"
                    + (source.origin == .beforeState ? " (no state was captured before the execution)" : ""))
            }
            if case .string(let s) = value, s.hasPrefix("hmac-sha256:") || s.hasPrefix("[redacted") {
                throw Failure("rollback param '\(name)' is redacted in the audit log; give it with --param \(name)=VALUE")
            }
            params[name] = value
        }
        return Plan(action: rollback, target: execution["target"]?.stringValue, params: params,
                    caller: caller ?? execution["caller"]?.stringValue, executionID: executionID)
    }
}
