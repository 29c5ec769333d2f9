/// "Did you mean …?" suggestions by edit distance.
public enum Suggest {
    /// The candidate closest to `word`, if it is close enough to be a likely typo.
    /// Words people write for one of ours that edit distance can't find (`production` for `prod`, `scope` for
    /// `fields`).
    static let synonyms: [String: [String]] = [
        "production": ["prod"], "prd": ["prod"], "development": ["dev"], "develop": ["dev"], "stage": ["staging"],
        "stg": ["staging"], "scope": ["fields"], "scopes": ["fields"], "permissions": ["required_privileges"],
        "privileges": ["required_privileges"], "effect": ["decision"], "action": ["actions"], "target": ["targets"],
        "caller": ["callers"], "agents": ["agent_ids"], "agent": ["agent_ids"], "params": ["parameters"],
        "risk": ["risk_class"], "env": ["environments"], "envs": ["environments"],
    ]

    public static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
        let candidates = Array(candidates)
        if let known = synonyms[word.lowercased()], let hit = known.first(where: candidates.contains) {
            return hit
        }
        let limit = max(1, min(3, word.count / 3))
        var best: (String, Int)?
        for c in candidates {
            let d = distance(word, c)
            if d <= limit, best == nil || d < best!.1 { best = (c, d) }
        }
        return best?.0
    }

    /// Levenshtein distance over characters.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
