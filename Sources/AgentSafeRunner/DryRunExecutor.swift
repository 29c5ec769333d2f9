import AgentSafeCore

/// Runs nothing: answers with the exact calls another executor would make (argv or HTTP request, credentials
/// redacted). Prechecks and state capture are skipped (reported as advisory), so a dry run needs no cluster or
/// account.
public struct DryRunExecutor: Executor {
    public let name = "dry-run"
    /// The executors whose plans are shown, tried in order.
    public let planners: [any Executor]

    public init(planners: [any Executor]) { self.planners = planners }

    func planner(for action: ActionDefinition) -> (any Executor)? { planners.first { $0.supports(action) } }

    public func supports(_ action: ActionDefinition) -> Bool { planner(for: action) != nil }

    public func plan(_ request: ExecutionRequest) throws -> [PlannedCall] {
        guard let planner = planner(for: request.action) else {
            throw ExecutorError("unsupported_action", "no executor maps '\(request.action.name)'")
        }
        return try planner.plan(request)
    }

    public func prechecks(_ request: ExecutionRequest) async -> [PrecheckOutcome] {
        request.action.prechecks.map {
            PrecheckOutcome(name: $0.name, passed: true, message: "not evaluated in a dry run", advisory: true)
        }
    }

    public func state(_ request: ExecutionRequest) async throws -> [String: JSONValue] { [:] }

    public func execute(_ request: ExecutionRequest) async -> ExecutionOutput {
        do {
            let calls = try plan(request)
            return ExecutionOutput(status: .dryRun, output: calls.map(\.description).joined(separator: "\n"), calls: calls)
        } catch let error as ExecutorError {
            return ExecutionOutput(status: .refused, error: error.description)
        } catch {
            return ExecutionOutput(status: .refused, error: "\(error)")
        }
    }
}
