import ArgumentParser

@main
struct AgentSafeCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "agent-safe",
        abstract: "Policy decisions for AI agents: allow, deny or require approval, with the reason.",
        discussion: """
            Loads action definitions (actions/), policies (policies/) and a target inventory, found through \
            agent-safe.yaml in the current directory or a parent. Exit codes are listed in docs/cli.md.
            """,
        version: version,
        subcommands: [
            CheckCommand.self, ExplainCommand.self, ValidateCommand.self, TestCommand.self, LintCommand.self,
            ListActionsCommand.self, InitCommand.self, KeysCommand.self, TicketCommand.self, TokenCommand.self,
            AuditCommand.self, ServeCommand.self, ApprovalsCommand.self, RunCommand.self, RollbackCommand.self,
        ]
    )
}
