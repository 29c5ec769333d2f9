/// Policy rules sorted and compiled for evaluation.
///
/// Rules are sorted once by priority, highest first, with a stable sort (equal priorities keep load order). Then
/// each known action gets the rule indices that can apply to it (exact names directly, `*` rules for every action,
/// other globs matched once against every action name), split by the target's environment and one list for an
/// unknown target, so a decision only looks at rules that name its action and environment.
public struct PolicySet: Sendable {
    /// Sorted, highest priority first.
    public let rules: [PolicyRule]
    private let buckets: [String: Bucket]

    struct Bucket: Sendable {
        /// Index by `Environment` order (dev, staging, prod).
        var byEnvironment: [[Int32]]
        var unknownTarget: [Int32]
    }

    public init(rules: [PolicyRule], actionNames: some Collection<String>) {
        let sorted = rules.enumerated().sorted { a, b in
            a.element.priority != b.element.priority ? a.element.priority > b.element.priority : a.offset < b.offset
        }.map(\.element)
        self.rules = sorted

        var exact: [String: [Int32]] = [:]
        var everywhere: [Int32] = []
        var globbed: [(Int32, [Glob])] = []
        for (i, rule) in sorted.enumerated() {
            let index = Int32(i)
            let globs = rule.match.actions
            if globs.contains(where: \.matchesEverything) {
                everywhere.append(index)
                continue
            }
            let patterns = globs.filter { !$0.isLiteral }
            for glob in globs where glob.isLiteral {
                exact[glob.pattern, default: []].append(index)
            }
            if !patterns.isEmpty { globbed.append((index, patterns)) }
        }
        var globMatches: [String: [Int32]] = [:]
        if !globbed.isEmpty {
            // A glob only matches names that start with its literal prefix (the text before its first `*`, `?` or
            // `[`), so the patterns are filed by prefix and each name tries only those filed under one of its own
            // prefixes, instead of every pattern (1,000 actions × 4,000 globs would be 4 M tries). A rule found
            // twice (two of its patterns match) is deduplicated with the other candidates below.
            var byPrefix: [String: [(rule: Int32, glob: Glob)]] = [:]
            for (index, patterns) in globbed {
                for glob in patterns {
                    let prefix = glob.pattern.unicodeScalars.prefix { $0 != "*" && $0 != "?" && $0 != "[" }
                    byPrefix[String(String.UnicodeScalarView(prefix)), default: []].append((index, glob))
                }
            }
            for name in actionNames {
                let scalars = Array(name.unicodeScalars)  // split once, not once per glob tried
                var prefix = String.UnicodeScalarView()
                for end in 0...scalars.count {
                    if end > 0 { prefix.append(scalars[end - 1]) }
                    guard let entries = byPrefix[String(prefix)] else { continue }
                    for entry in entries where entry.glob.matches(scalars: scalars) {
                        globMatches[name, default: []].append(entry.rule)
                    }
                }
            }
        }
        var buckets: [String: Bucket] = [:]
        buckets.reserveCapacity(actionNames.count)
        for name in actionNames {
            var candidates = everywhere
            candidates.append(contentsOf: exact[name] ?? [])
            candidates.append(contentsOf: globMatches[name] ?? [])
            candidates.sort()
            // A rule listing the action both exactly and by glob appears twice: keep one.
            var unique: [Int32] = []
            unique.reserveCapacity(candidates.count)
            for c in candidates where unique.last != c { unique.append(c) }
            var byEnvironment: [[Int32]] = Array(repeating: [], count: Environment.allCases.count)
            var unknownTarget: [Int32] = []
            for c in unique {
                let selector = sorted[Int(c)].match.targets
                if selector == nil { unknownTarget.append(c) }
                for (e, env) in Environment.allCases.enumerated()
                where selector?.environments.map({ $0.contains(env) }) ?? true {
                    byEnvironment[e].append(c)
                }
            }
            buckets[name] = Bucket(byEnvironment: byEnvironment, unknownTarget: unknownTarget)
        }
        self.buckets = buckets
    }

    /// The indices (into ``rules``) of the rules that can apply to `action` on a target in `environment`
    /// (`nil` = the target is unknown), in evaluation order.
    public func candidates(action: String, environment: Environment?) -> [Int32] {
        guard let bucket = buckets[action] else { return [] }
        guard let environment else { return bucket.unknownTarget }
        switch environment {
        case .dev: return bucket.byEnvironment[0]
        case .staging: return bucket.byEnvironment[1]
        case .prod: return bucket.byEnvironment[2]
        }
    }
}
