import AgentSafeConfig
import AgentSafeCore
import AgentSafeRunner
import Foundation

/// Maps `executors:` and `vault:` of agent-safe.yaml to the runner's executors and credential vault.
public enum RunnerSetup {
    /// The executors that really run actions (in order of preference); `[]` allows dry runs only.
    public static func executors(_ config: ProjectConfig) -> [any Executor] {
        config.executors.enabled.compactMap { name -> (any Executor)? in
            switch name {
            case "kubectl": makeKubectl(config)
            case "aws": makeAWS(config)
            default: nil
            }
        }
    }

    /// The planners a dry run asks for the calls they would make: every executor, enabled or not (a plan sends
    /// nothing and needs no credential).
    public static func planners(_ config: ProjectConfig) -> [any Executor] {
        [makeKubectl(config), makeAWS(config)]
    }

    public static func vault(_ config: ProjectConfig) -> (any CredentialVault)? {
        guard let v = config.vault else { return EnvironmentVault() }
        switch v.type {
        case "file": return v.path.map(FileVault.init(path:))
        default: return EnvironmentVault(prefix: v.envPrefix)
        }
    }

    static func makeKubectl(_ config: ProjectConfig) -> any Executor {
        KubectlExecutor(kubectlPath: config.executors.kubectlPath,
                        allowAmbientCredentials: config.executors.kubectlAmbientCredentials)
    }

    static func makeAWS(_ config: ProjectConfig) -> any Executor {
        AWSExecutor(endpoint: config.executors.awsEndpoint.flatMap(URL.init(string:)),
                    allowAmbientCredentials: config.executors.awsAmbientCredentials)
    }
}
