/// A regular expression matched in time linear in the input, whatever the pattern: no backtracking, so a value
/// chosen by an agent cannot make a `pattern:` check slow (ReDoS). Dialect: docs/regex.md, an RE2-like subset
/// of Python `re` with ASCII `\d \w \s \b`; constructs that need backtracking are refused at compile time.
///
/// Matching runs over Unicode scalars. Patterns are compiled to a Thompson NFA and, when it stays small, to a
/// DFA table built once in `init` (one table load per scalar); otherwise the NFA is simulated (Pike VM).
/// Equal and hashed by pattern text.
public struct SafeRegex: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    let compiled: CompiledRegex

    /// Compiles `pattern`, refusing constructs outside the dialect and programs that are too large.
    public init(_ pattern: String) throws(RegexSyntaxError) {
        try self.init(pattern, buildDFA: true)
    }

    /// `buildDFA: false` keeps only the NFA simulation (for tests that compare the two).
    init(_ pattern: String, buildDFA: Bool) throws(RegexSyntaxError) {
        var parser = RegexParser(pattern)
        let tree = try parser.parse()
        self.pattern = pattern
        self.compiled = CompiledRegex(
            RegexProgram(tree.node, usesWordBoundary: parser.usesWordBoundary), buildDFA: buildDFA)
    }

    /// Python `re.fullmatch` semantics: the whole string must match.
    public func wholeMatch(_ s: String) -> Bool {
        compiled.matches(s, search: false)
    }

    /// Python `re.search` semantics: some substring matches (honouring `^` and `$` anchors).
    public func containsMatch(_ s: String) -> Bool {
        compiled.matches(s, search: true)
    }

    public var description: String { pattern }

    public static func == (a: SafeRegex, b: SafeRegex) -> Bool { a.pattern == b.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }

    /// Whether matching uses the DFA tables (false: the pattern was too large for them).
    var usesDFA: Bool { compiled.whole != nil }

    /// The answer of the NFA simulation alone, bypassing the DFA.
    func simulatedMatch(_ s: String, search: Bool) -> Bool {
        compiled.program.simulate(s.unicodeScalars, search: search)
    }
}

/// A pattern the engine refuses, with the offset of the problem.
public struct RegexSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, e.g. "unbalanced parenthesis" or "backreferences are not supported (linear-time engine)".
    public let message: String
    /// 0-based offset into the pattern, counted in Unicode scalars (Python's code points).
    public let offset: Int

    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) at position \(offset)" }
}

/// Everything compiled from one pattern. Immutable after `init`, hence shareable across threads.
final class CompiledRegex: Sendable {
    let program: RegexProgram
    let alphabet: RegexAlphabet?
    /// Nil when over the construction budget: the NFA simulation is used instead.
    let whole: RegexDFA?
    let search: RegexDFA?

    init(_ program: RegexProgram, buildDFA: Bool) {
        self.program = program
        let alphabet =
            buildDFA ? RegexAlphabet(sets: program.sets, usesWordBoundary: program.usesWordBoundary) : nil
        self.alphabet = alphabet
        if let alphabet {
            whole = RegexDFA(program: program, alphabet: alphabet, search: false)
            search = whole == nil ? nil : RegexDFA(program: program, alphabet: alphabet, search: true)
        } else {
            whole = nil
            search = nil
        }
    }

    @inline(__always)
    func matches(_ s: String, search: Bool) -> Bool {
        guard let alphabet, let dfa = search ? self.search : whole else {
            return program.simulate(s.unicodeScalars, search: search)
        }
        if let answer = s.utf8.withContiguousStorageIfAvailable({ dfa.run($0, alphabet) }) { return answer }
        return dfa.run(s.unicodeScalars, alphabet)
    }
}
