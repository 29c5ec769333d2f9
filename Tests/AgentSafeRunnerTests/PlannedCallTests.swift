import AgentSafeCore
import AgentSafeRunner
import Testing

@Suite("Runner: planned calls and credentials")
struct PlannedCallTests {
    @Test func argvIsShownShellQuotedButNeverRunThroughAShell() {
        let call = PlannedCall.argv(["kubectl", "scale", "deployment/web", "--replicas=3", "-n", "a b", "it's"])
        #expect(call.description == "kubectl scale deployment/web --replicas=3 -n 'a b' 'it'\\''s'")
    }

    @Test func aCredentialNeverDescribesItsSecret() {
        let c = Credential(id: "cred-1", type: "aws", scope: [:], secret: ["secret_access_key": "wJalrXUtnFEMI/K7MDENG"], expiresAt: 5)
        #expect(!"\(c)".contains("wJalr") && !String(reflecting: c).contains("wJalr"))
    }
}
