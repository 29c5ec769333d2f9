import Testing
import Yams

@testable import AgentSafeConfig

/// The fast path of scalar typing must agree with Yams' default (YAML 1.1) resolver wherever it answers "string".
@Suite("Scalar typing fast path")
struct ScalarResolutionTests {
    static let samples: [String] = [
        "", "0", "12", "-3", "+4", "0x1F", "0o17", "1_000", "3.5", ".5", "-.inf", ".NaN", "1e3", "190:20:30", "~", "null",
        "Null", "NULL", "true", "True", "TRUE", "false", "yes", "No", "on", "OFF", "y", "n", "<<", "=", "2026-11-25",
        "2026-11-25T10:00:00Z", "shop", "web", "restart-deployment", "dev/shop-web", "^[a-z]+$", "k8s-deployment",
        "Identified agents may act", "trueish", "nullable", "offset", "yesterday", "o", "t", "f", "N/A", "#tag",
        "@scope", "*star", "!bang", "%pct", "x: y", "ünïcode", "_under", "$dollar", "'q'", "\"dq\"",
    ]

    @Test(arguments: samples)
    func agreesWithYamsDefault(_ s: String) {
        let yamsSaysString = Node(s).tag.description == Tag.Name.str.rawValue
        if !YAMLFileReader.mayBeNonString(s) {
            #expect(yamsSaysString, "'\(s)' skipped by the fast path but Yams types it \(Node(s).tag.description)")
        }
    }

    @Test func explicitTagsAndQuotesStayStrings() throws {
        let node = try #require(try YAMLFileReader().parse(text: "a: !!str 5\nb: '7'\nc: 7\nd: yes\ne: ~\n", displayPath: "t.yaml"))
        guard case .mapping(let pairs) = node.kind else { Issue.record("not a mapping"); return }
        let tags = pairs.map { pair -> String in
            if case .scalar(_, _, let tag) = pair.value.kind { return "\(tag)" }
            return "?"
        }
        #expect(tags == ["string", "string", "integer", "boolean", "null"])
    }
}
