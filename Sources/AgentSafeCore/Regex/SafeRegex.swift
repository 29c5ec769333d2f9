/// A regular expression matched in time linear in the input (no backtracking), for `pattern:` constraints that
/// are applied to values chosen by agents. Dialect: docs/regex.md (an RE2-like subset of Python `re`).
public struct SafeRegex: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let program: Program

    /// Compiles `pattern`, refusing constructs that need backtracking and programs that are too large.
    public init(_ pattern: String) throws(RegexSyntaxError) {
        var parser = RegexParser(pattern)
        let tree = try parser.parse()
        var compiler = Compiler()
        try compiler.compile(tree)
        compiler.emit(.match)
        guard compiler.instructions.count <= Compiler.maxInstructions else {
            throw RegexSyntaxError(
                message: "pattern too large (over \(Compiler.maxInstructions) instructions once repetitions are expanded)",
                offset: 0)
        }
        self.pattern = pattern
        self.program = Program(instructions: compiler.instructions, sets: compiler.sets)
    }

    /// Python `re.fullmatch`: the whole string must match.
    public func wholeMatch(_ s: String) -> Bool {
        program.run(s, anchored: true)
    }

    /// Python `re.search`: some substring matches (honouring `^` and `$`).
    public func containsMatch(_ s: String) -> Bool {
        program.run(s, anchored: false)
    }

    public var description: String { pattern }

    public static func == (a: SafeRegex, b: SafeRegex) -> Bool { a.pattern == b.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }
}

/// A pattern the engine refuses, with the character offset of the problem.
public struct RegexSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// 0-based character (Unicode scalar) offset into the pattern.
    public let offset: Int

    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) at position \(offset)" }
}

enum Instruction: Sendable, Hashable {
    case set(Int32)  // consume one scalar in sets[i]
    case split(Int32, Int32)
    case jump(Int32)
    case assertStart
    case assertEnd
    case match
}

struct Compiler {
    static let maxInstructions = 10_000
    var instructions: [Instruction] = []
    var sets: [CharSet] = []

    @discardableResult
    mutating func emit(_ i: Instruction) -> Int {
        instructions.append(i)
        return instructions.count - 1
    }

    mutating func compile(_ node: RegexParser.Node) throws(RegexSyntaxError) {
        guard instructions.count <= Self.maxInstructions else {
            throw RegexSyntaxError(message: "pattern too large (over \(Self.maxInstructions) instructions once repetitions are expanded)", offset: 0)
        }
        switch node {
        case .empty:
            break
        case .set(let s):
            let index: Int
            if let existing = sets.firstIndex(of: s) { index = existing } else {
                sets.append(s)
                index = sets.count - 1
            }
            emit(.set(Int32(index)))
        case .concat(let items):
            for item in items { try compile(item) }
        case .alternate(let branches):
            var jumps: [Int] = []
            for (i, branch) in branches.enumerated() {
                if i < branches.count - 1 {
                    let split = emit(.split(0, 0))
                    try compile(branch)
                    jumps.append(emit(.jump(0)))
                    instructions[split] = .split(Int32(split + 1), Int32(instructions.count))
                } else {
                    try compile(branch)
                }
            }
            for j in jumps { instructions[j] = .jump(Int32(instructions.count)) }
        case .repeatNode(let inner, let min, let max):
            for _ in 0..<min { try compile(inner) }
            if let max {
                // (inner(inner(...)?)?)? for the optional copies.
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(emit(.split(0, 0)))
                    try compile(inner)
                    guard instructions.count <= Self.maxInstructions else { break }
                }
                for s in splits { instructions[s] = .split(Int32(s + 1), Int32(instructions.count)) }
            } else {
                let split = emit(.split(0, 0))
                try compile(inner)
                emit(.jump(Int32(split)))
                instructions[split] = .split(Int32(split + 1), Int32(instructions.count))
            }
        case .lineStart:
            emit(.assertStart)
        case .lineEnd:
            emit(.assertEnd)
        }
    }
}

/// A Thompson NFA simulated Pike-style: every thread advances in lock step, so time is O(input × program).
struct Program: Sendable, Hashable {
    let instructions: [Instruction]
    let sets: [CharSet]

    func run(_ s: String, anchored: Bool) -> Bool {
        var input = s
        return input.withUTF8 { bytes in
            if bytes.allSatisfy({ $0 < 0x80 }) {
                return simulate(count: bytes.count, anchored: anchored) { UInt32(bytes[$0]) }
            }
            let scalars = Array(s.unicodeScalars)
            return simulate(count: scalars.count, anchored: anchored) { scalars[$0].value }
        }
    }

    @inline(__always)
    private func simulate(count: Int, anchored: Bool, at scalarAt: (Int) -> UInt32) -> Bool {
        let n = instructions.count
        var current = ThreadList(capacity: n)
        var next = ThreadList(capacity: n)
        var stack: [Int32] = []
        stack.reserveCapacity(n)
        add(0, at: 0, count: count, to: &current, stack: &stack)
        var position = 0
        while true {
            if current.containsMatch {
                if !anchored || position == count { return true }
            }
            if position == count { return false }
            let c = scalarAt(position)
            next.clear()
            for i in 0..<current.count {
                let pc = current.dense[i]
                if case .set(let si) = instructions[Int(pc)], sets[Int(si)].contains(c) {
                    add(pc + 1, at: position + 1, count: count, to: &next, stack: &stack)
                }
            }
            position += 1
            if !anchored {
                add(0, at: position, count: count, to: &next, stack: &stack)
            }
            swap(&current, &next)
            if current.count == 0 { return false }
        }
    }

    /// Adds `pc` and everything reachable from it without consuming input.
    @inline(__always)
    private func add(_ pc: Int32, at position: Int, count: Int, to list: inout ThreadList, stack: inout [Int32]) {
        stack.append(pc)
        while let top = stack.popLast() {
            guard list.insert(top) else { continue }
            switch instructions[Int(top)] {
            case .jump(let target): stack.append(target)
            case .split(let a, let b):
                stack.append(b)
                stack.append(a)
            case .assertStart: if position == 0 { stack.append(top + 1) }
            case .assertEnd: if position == count { stack.append(top + 1) }
            case .match: list.containsMatch = true
            case .set: break
            }
        }
    }
}

/// A sparse set of program counters (Briggs–Torczon): O(1) insert, membership and clear.
struct ThreadList {
    var dense: [Int32]
    var sparse: [Int32]
    var count = 0
    var containsMatch = false

    init(capacity: Int) {
        dense = Array(repeating: 0, count: capacity)
        sparse = Array(repeating: 0, count: capacity)
    }

    @inline(__always)
    mutating func insert(_ pc: Int32) -> Bool {
        let s = Int(sparse[Int(pc)])
        if s < count, dense[s] == pc { return false }
        sparse[Int(pc)] = Int32(count)
        dense[count] = pc
        count += 1
        return true
    }

    mutating func clear() {
        count = 0
        containsMatch = false
    }
}
