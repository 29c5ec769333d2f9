/// One instruction of a Thompson NFA.
struct RegexInstruction: Sendable, Hashable {
    enum Op: UInt8, Sendable {
        case consume  // one scalar in sets[a], then pc + 1
        case split  // both a and b
        case jump  // a
        case assert  // RegexAssertion(rawValue: a) holds here, then pc + 1
        case match
    }

    var op: Op
    var a: Int32 = 0
    var b: Int32 = 0
}

/// What the zero-width assertions can see at a position between two scalars.
struct RegexContext {
    var atStart: Bool
    var atEnd: Bool
    var prevWord: Bool
    var nextWord: Bool

    @inline(__always)
    func holds(_ raw: Int32) -> Bool {
        switch RegexAssertion(rawValue: UInt8(raw)) {
        case .start: atStart
        case .end: atEnd
        case .wordBoundary: prevWord != nextWord
        case .notWordBoundary: prevWord == nextWord
        case nil: false
        }
    }
}

/// A sparse set of program counters (Briggs & Torczon): O(1) insert, membership test and clear.
struct SparseSet {
    private(set) var dense: [Int32]
    private var sparse: [Int32]
    private(set) var count = 0

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

    @inline(__always)
    mutating func clear() { count = 0 }

    var isEmpty: Bool { count == 0 }

    var elements: ArraySlice<Int32> { dense[0..<count] }
}

/// The compiled NFA: instructions, the scalar sets they consume, and its simulation (the Pike VM without
/// captures). Every thread advances in lock step, so matching is O(input length × program size) whatever the
/// pattern; `RegexDFA` caches the same simulation as a table when that is small enough.
///
/// Assertions are evaluated lazily: a state is the "kernel" of threads after consuming a scalar, and its
/// epsilon closure is taken only once the next scalar (or the end) is known, so `\b`, `^` and `$` see both sides.
struct RegexProgram: Sendable {
    let instructions: [RegexInstruction]
    let sets: [CharSet]
    let usesWordBoundary: Bool

    init(_ node: RegexNode, usesWordBoundary: Bool) {
        var compiler = Compiler()
        compiler.compile(node)
        compiler.emit(RegexInstruction(op: .match))
        instructions = compiler.instructions
        sets = compiler.sets
        self.usesWordBoundary = usesWordBoundary
    }

    private struct Compiler {
        var instructions: [RegexInstruction] = []
        var sets: [CharSet] = []
        var setIndex: [CharSet: Int32] = [:]

        var pc: Int32 { Int32(instructions.count) }

        @discardableResult
        mutating func emit(_ i: RegexInstruction) -> Int {
            instructions.append(i)
            return instructions.count - 1
        }

        /// Emits exactly the instruction count RegexParser.Parsed.size predicts.
        mutating func compile(_ node: RegexNode) {
            switch node {
            case .empty:
                break
            case .set(let s):
                let index: Int32
                if let existing = setIndex[s] {
                    index = existing
                } else {
                    index = Int32(sets.count)
                    sets.append(s)
                    setIndex[s] = index
                }
                emit(RegexInstruction(op: .consume, a: index))
            case .assertion(let a):
                emit(RegexInstruction(op: .assert, a: Int32(a.rawValue)))
            case .concat(let items):
                for item in items { compile(item) }
            case .alternate(let branches):
                var jumps: [Int] = []
                for branch in branches.dropLast() {
                    let split = emit(RegexInstruction(op: .split))
                    compile(branch)
                    jumps.append(emit(RegexInstruction(op: .jump)))
                    instructions[split].a = Int32(split + 1)
                    instructions[split].b = pc
                }
                if let last = branches.last { compile(last) }
                for j in jumps { instructions[j].a = pc }
            case .repetition(let inner, let min, let max):
                if let max {
                    for _ in 0..<min { compile(inner) }
                    // inner(inner(...)?)?: each optional copy can skip all the remaining ones.
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(emit(RegexInstruction(op: .split)))
                        compile(inner)
                    }
                    for s in splits {
                        instructions[s].a = Int32(s + 1)
                        instructions[s].b = pc
                    }
                } else if min == 0 {
                    let split = emit(RegexInstruction(op: .split))
                    compile(inner)
                    emit(RegexInstruction(op: .jump, a: Int32(split)))
                    instructions[split].a = Int32(split + 1)
                    instructions[split].b = pc
                } else {
                    for _ in 0..<(min - 1) { compile(inner) }
                    let loop = pc
                    compile(inner)
                    emit(RegexInstruction(op: .split, a: loop, b: pc + 1))
                }
            }
        }
    }

    /// Adds to `closed` every pc reachable from `kernel` without consuming input in `context`; true if `match`
    /// is among them. `stack` is scratch space.
    func closure(
        of kernel: some Sequence<Int32>, in context: RegexContext, into closed: inout SparseSet,
        stack: inout [Int32]
    ) -> Bool {
        var matched = false
        for start in kernel {
            stack.append(start)
            while let pc = stack.popLast() {
                guard closed.insert(pc) else { continue }
                let i = instructions[Int(pc)]
                switch i.op {
                case .consume: break
                case .match: matched = true
                case .jump: stack.append(i.a)
                case .split:
                    stack.append(i.b)
                    stack.append(i.a)
                case .assert:
                    if context.holds(i.a) { stack.append(pc + 1) }
                }
            }
        }
        return matched
    }

    /// The NFA simulation, used when the DFA would be too large (and by the tests as a cross-check).
    func simulate(_ input: String.UnicodeScalarView, search: Bool) -> Bool {
        let n = instructions.count
        var kernel = SparseSet(capacity: n)
        var closed = SparseSet(capacity: n)
        var stack: [Int32] = []
        stack.reserveCapacity(n)
        _ = kernel.insert(0)
        var atStart = true
        var prevWord = false
        for scalar in input {
            let c = scalar.value
            let word = usesWordBoundary && CharSet.isWord(c)
            closed.clear()
            let context = RegexContext(atStart: atStart, atEnd: false, prevWord: prevWord, nextWord: word)
            if closure(of: kernel.elements, in: context, into: &closed, stack: &stack), search { return true }
            kernel.clear()
            if search { _ = kernel.insert(0) }
            for pc in closed.elements {
                let i = instructions[Int(pc)]
                if i.op == .consume, sets[Int(i.a)].contains(c) { _ = kernel.insert(pc + 1) }
            }
            if kernel.isEmpty { return false }
            atStart = false
            prevWord = word
        }
        closed.clear()
        let context = RegexContext(atStart: atStart, atEnd: true, prevWord: prevWord, nextWord: false)
        return closure(of: kernel.elements, in: context, into: &closed, stack: &stack)
    }
}
