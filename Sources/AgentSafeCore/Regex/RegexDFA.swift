/// The scalar alphabet cut into classes that no set of the program tells apart, so a DFA needs one column per
/// class instead of one per scalar. ASCII is looked up in a 128-entry table, anything above by binary search.
struct RegexAlphabet: Sendable {
    let classCount: Int
    /// Class of each ASCII scalar.
    let ascii: [UInt16]
    /// Starts (all >= 128, ascending) of the intervals above ASCII, and their classes.
    let upperStarts: [UInt32]
    let upperClasses: [UInt16]
    /// One scalar of each class, and whether it is a word character (constant over a class when it matters).
    let representatives: [UInt32]
    let isWord: [Bool]

    /// Nil when the partition would be too costly to compute (the NFA simulation is used instead).
    init?(sets: [CharSet], usesWordBoundary: Bool) {
        let sets = usesWordBoundary ? sets + [CharSet.word] : sets
        var points: Set<UInt32> = [0, 128]
        for set in sets {
            for r in set.ranges {
                points.insert(r.lowerBound)
                if r.upperBound < CharSet.maxScalar { points.insert(r.upperBound + 1) }
            }
        }
        let starts = points.sorted()
        guard starts.count * max(sets.count, 1) <= 4_000_000 else { return nil }
        // Refine: two intervals share a class when every set contains both or neither.
        var classOf = [Int](repeating: 0, count: starts.count)
        var count = 1
        for set in sets {
            var renumber: [Int: Int] = [:]
            for (i, start) in starts.enumerated() {
                let key = classOf[i] * 2 + (set.contains(start) ? 1 : 0)
                if let id = renumber[key] {
                    classOf[i] = id
                } else {
                    renumber[key] = renumber.count
                    classOf[i] = renumber.count - 1
                }
            }
            count = renumber.count
        }
        guard count <= Int(UInt16.max) else { return nil }
        classCount = count
        var reps = [UInt32](repeating: 0, count: count)
        var seen = [Bool](repeating: false, count: count)
        for (i, start) in starts.enumerated() where !seen[classOf[i]] {
            seen[classOf[i]] = true
            reps[classOf[i]] = start
        }
        representatives = reps
        isWord = reps.map { usesWordBoundary && CharSet.isWord($0) }
        var table = [UInt16](repeating: 0, count: 128)
        var interval = 0
        for v in 0..<128 {
            while interval + 1 < starts.count, starts[interval + 1] <= UInt32(v) { interval += 1 }
            table[v] = UInt16(classOf[interval])
        }
        ascii = table
        let firstUpper = starts.firstIndex(of: 128)!  // 128 is always a start
        upperStarts = Array(starts[firstUpper...])
        upperClasses = classOf[firstUpper...].map { UInt16($0) }
    }

    @inline(__always)
    func classOf(_ v: UInt32) -> Int {
        if v < 128 { return Int(ascii[Int(v)]) }
        if upperStarts.count == 1 { return Int(upperClasses[0]) }
        var lo = 0  // the last start <= v; upperStarts[0] == 128 <= v
        var hi = upperStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if upperStarts[mid] <= v { lo = mid } else { hi = mid - 1 }
        }
        return Int(upperClasses[lo])
    }
}

/// A DFA built eagerly, by subset construction, from the NFA simulation of `RegexProgram`. It is a flat table
/// of `Int32` indexed by state × class; matching does one table load per scalar and no allocation.
/// Construction is budgeted (states, table size, work): past that, the caller falls back to the NFA simulation,
/// which is linear too, only slower.
struct RegexDFA: Sendable {
    static let dead: Int32 = -1
    static let matched: Int32 = -2
    static let maxStates = 4_096
    static let maxTableEntries = 1 << 20
    static let maxWork = 2_000_000

    let classCount: Int
    /// Row-major, premultiplied: `table[s + c]` is the next state's row start (`s` is a row start), or `dead` /
    /// `matched`.
    let table: [Int32]
    let start: Int32
    /// By state number (row start / classCount): accepts if the input ends here.
    let acceptAtEnd: [Bool]

    private struct Key: Hashable {
        var kernel: [Int32]
        var atStart: Bool
        var prevWord: Bool
    }

    /// `search`: Python `re.search` (the program is restarted at every position and a match anywhere wins);
    /// otherwise `re.fullmatch`.
    init?(program: RegexProgram, alphabet: RegexAlphabet, search: Bool) {
        let classes = alphabet.classCount
        var states: [Key] = [Key(kernel: [0], atStart: true, prevWord: false)]
        var index: [Key: Int32] = [states[0]: 0]
        var table: [Int32] = []
        var accept: [Bool] = []
        var closed = SparseSet(capacity: program.instructions.count)
        var stack: [Int32] = []
        var work = 0
        var next = 0
        while next < states.count {
            let key = states[next]
            next += 1
            // Accepting at the end of the input.
            closed.clear()
            let end = RegexContext(atStart: key.atStart, atEnd: true, prevWord: key.prevWord, nextWord: false)
            accept.append(program.closure(of: key.kernel, in: end, into: &closed, stack: &stack))
            // One closure per word-ness of the next scalar (only one unless the pattern has \b or \B).
            var closures: [(matched: Bool, consumers: [(pc: Int32, set: CharSet)])] = []
            for nextWord in program.usesWordBoundary ? [false, true] : [false] {
                closed.clear()
                let context = RegexContext(
                    atStart: key.atStart, atEnd: false, prevWord: key.prevWord, nextWord: nextWord)
                let matched = program.closure(of: key.kernel, in: context, into: &closed, stack: &stack)
                var consumers: [(pc: Int32, set: CharSet)] = []
                for pc in closed.elements where program.instructions[Int(pc)].op == .consume {
                    consumers.append((pc, program.sets[Int(program.instructions[Int(pc)].a)]))
                }
                work += closed.count + key.kernel.count
                closures.append((matched, consumers))
            }
            // Classes that the consumers of this state do not tell apart go to the same state: remember the
            // target per subset of consumers (when there are at most 64) to hash each kernel once per state.
            var seen: [(closure: Int, mask: UInt64, target: Int32)] = []
            for c in 0..<classes {
                let which = alphabet.isWord[c] ? 1 : 0
                let (matched, consumers) = closures[which]
                if search, matched {
                    table.append(Self.matched)
                    continue
                }
                let scalar = alphabet.representatives[c]
                var mask: UInt64 = 0
                if consumers.count <= 64 {
                    for (bit, consumer) in consumers.enumerated() where consumer.set.contains(scalar) {
                        mask |= 1 << UInt64(bit)
                    }
                    if let hit = seen.first(where: { $0.closure == which && $0.mask == mask }) {
                        table.append(hit.target)
                        continue
                    }
                }
                var kernel: [Int32] = search ? [0] : []
                for (pc, set) in consumers where set.contains(scalar) { kernel.append(pc + 1) }
                kernel.sort()
                work += consumers.count + kernel.count
                let target: Int32
                if kernel.isEmpty {
                    target = Self.dead
                } else {
                    let key = Key(kernel: kernel, atStart: false, prevWord: alphabet.isWord[c])
                    if let existing = index[key] {
                        target = existing
                    } else {
                        target = Int32(states.count)
                        index[key] = target
                        states.append(key)
                    }
                }
                if consumers.count <= 64 { seen.append((which, mask, target)) }
                table.append(target)
            }
            guard states.count <= Self.maxStates, states.count * classes <= Self.maxTableEntries,
                work <= Self.maxWork
            else { return nil }
        }
        // States from which no match is reachable become `dead`, so a hopeless input is refused at once.
        let live = Self.liveStates(table: table, accept: accept, classes: classes)
        for i in table.indices where table[i] >= 0 {
            table[i] = live[Int(table[i])] ? table[i] * Int32(classes) : Self.dead
        }
        self.classCount = classes
        self.table = table
        self.acceptAtEnd = accept
        self.start = live[0] ? 0 : Self.dead
    }

    private static func liveStates(table: [Int32], accept: [Bool], classes: Int) -> [Bool] {
        let count = accept.count
        var predecessors = [[Int32]](repeating: [], count: count)
        var live = accept
        var queue: [Int] = []
        for s in 0..<count {
            for c in 0..<classes {
                let t = table[s * classes + c]
                if t >= 0 { predecessors[Int(t)].append(Int32(s)) }
                if t == Self.matched, !live[s] { live[s] = true }
            }
            if live[s] { queue.append(s) }
        }
        while let s = queue.popLast() {
            for p in predecessors[s] where !live[Int(p)] {
                live[Int(p)] = true
                queue.append(Int(p))
            }
        }
        return live
    }

    /// Runs over the UTF-8 of a native string (valid UTF-8, as every Swift `String`).
    @inline(__always)
    func run(_ utf8: UnsafeBufferPointer<UInt8>, _ alphabet: RegexAlphabet) -> Bool {
        var s = Int(start)
        if s < 0 { return false }
        let n = utf8.count
        return table.withUnsafeBufferPointer { t in
            alphabet.ascii.withUnsafeBufferPointer { ascii in
                var i = 0
                while i < n {
                    let b0 = utf8[i]
                    let c: Int
                    if b0 < 0x80 {
                        c = Int(ascii[Int(b0)])
                        i &+= 1
                    } else {
                        let v: UInt32
                        if b0 < 0xE0 {
                            v = UInt32(b0 & 0x1F) << 6 | UInt32(utf8[i &+ 1] & 0x3F)
                            i &+= 2
                        } else if b0 < 0xF0 {
                            v = UInt32(b0 & 0x0F) << 12 | UInt32(utf8[i &+ 1] & 0x3F) << 6
                                | UInt32(utf8[i &+ 2] & 0x3F)
                            i &+= 3
                        } else {
                            v = UInt32(b0 & 0x07) << 18 | UInt32(utf8[i &+ 1] & 0x3F) << 12
                                | UInt32(utf8[i &+ 2] & 0x3F) << 6 | UInt32(utf8[i &+ 3] & 0x3F)
                            i &+= 4
                        }
                        c = alphabet.classOf(v)
                    }
                    let next = Int(t[s &+ c])
                    if next < 0 { return next == Int(Self.matched) }
                    s = next
                }
                return acceptAtEnd[s / classCount]
            }
        }
    }

    /// The same over scalars, for strings without contiguous UTF-8 storage.
    func run(_ scalars: String.UnicodeScalarView, _ alphabet: RegexAlphabet) -> Bool {
        var s = Int(start)
        if s < 0 { return false }
        for scalar in scalars {
            let next = Int(table[s + alphabet.classOf(scalar.value)])
            if next < 0 { return next == Int(Self.matched) }
            s = next
        }
        return acceptAtEnd[s / classCount]
    }
}
