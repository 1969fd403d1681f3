/// A context-free grammar that constrains generated text, compiled for matching bytes.
///
/// Build one from llama.cpp's GBNF (`init(gbnf:root:)`), a JSON Schema (`jsonSchema(_:)`) or a
/// regular expression (`regex(_:)`); `anyJSON` accepts any JSON value. A grammar is immutable
/// and cheap to copy; match text against it with `GrammarMatcher` and constrain a model's tokens
/// with `TokenConstraint`.
///
/// Character classes and `.` match Unicode code points, as llama.cpp does, but the matcher reads
/// UTF-8 bytes: a token may end in the middle of a character and the next one completes it.
/// Invalid UTF-8 never matches a class.
public struct Grammar: Sendable {
    let compiled: CompiledGrammar

    /// Parses GBNF text.
    /// - Parameter root: the rule the text must match as a whole.
    /// - Throws: `GrammarError` naming the line and column of a syntax error, the undefined or
    ///   left-recursive rule, a missing `root`, or a bound the grammar exceeds.
    public init(gbnf: String, root: String = "root") throws(GrammarError) {
        compiled = try CompiledGrammar(rules: GBNFParser.parse(gbnf), root: root)
    }

    /// The names of the grammar's rules, helper rules included, by index.
    public var ruleNames: [String] { compiled.ruleNames }
}

/// The flat form the matcher walks: every rule's alternatives laid out as sequences of elements,
/// each ending with an end element; a position is an index into the element arrays.
///
/// A stack (of `GrammarMatcher` or the token automaton) holds positions: the top is a terminal
/// element (a byte or a state of a character class), those below are where to continue when
/// the rule above ends.
final class CompiledGrammar: Sendable {
    enum Kind: UInt8 { case end, rule, byte, classState }

    /// [elements] what each position is.
    let kinds: [Kind]
    /// [elements] rule: the rule index; byte: the byte; classState: the row of `classRows`.
    let operands: [UInt32]
    /// [elements] classState: which state of its class this element is (0 at the class's first
    /// element; the class's states are consecutive elements, followed by the next element of the
    /// sequence).
    let classStates: [UInt16]
    /// [class rows × 256] the relative state each byte leads to (see `UTF8ClassAutomaton`).
    let classRows: [Int16]
    /// [rules + 1] rule r's alternatives are `alternativeStarts[ruleAlternatives[r]..<ruleAlternatives[r+1]]`.
    let ruleAlternatives: [Int32]
    /// [alternatives] the position of each alternative's first element.
    let alternativeStarts: [UInt32]
    let ruleNames: [String]
    let root: Int

    /// Above this many elements a grammar is refused.
    static let elementLimit = 1 << 22

    init(rules definitions: [GrammarRuleDefinition], root rootName: String) throws(GrammarError) {
        var lowering = GrammarLowering(definitions)
        try lowering.lower()
        guard let root = lowering.ruleIndex[rootName] else { throw .missingRoot(name: rootName) }
        try lowering.checkLeftRecursion()

        var kinds: [Kind] = [], operands: [UInt32] = [], classStates: [UInt16] = []
        var classRows: [Int16] = []
        var classRowBase: [CodePointSet: (row: Int, states: Int)] = [:]
        var ruleAlternatives: [Int32] = [0], alternativeStarts: [UInt32] = []
        for alternatives in lowering.rules {
            for sequence in alternatives {
                alternativeStarts.append(UInt32(kinds.count))
                for atom in sequence {
                    switch atom {
                    case .byte(let b):
                        kinds.append(.byte); operands.append(UInt32(b)); classStates.append(0)
                    case .rule(let r):
                        kinds.append(.rule); operands.append(UInt32(r)); classStates.append(0)
                    case .codePoints(let set):
                        if classRowBase[set] == nil {
                            let automaton = try UTF8ClassAutomaton(set)
                            classRowBase[set] = (classRows.count / 256, automaton.stateCount)
                            classRows += automaton.transitions
                        }
                        let (row, states) = classRowBase[set]!
                        for s in 0..<states {
                            kinds.append(.classState); operands.append(UInt32(row + s)); classStates.append(UInt16(s))
                        }
                    }
                }
                kinds.append(.end); operands.append(0); classStates.append(0)
                guard kinds.count <= Self.elementLimit else { throw .tooLarge(what: "grammar elements", limit: Self.elementLimit) }
            }
            ruleAlternatives.append(Int32(alternativeStarts.count))
        }
        self.kinds = kinds
        self.operands = operands
        self.classStates = classStates
        self.classRows = classRows
        self.ruleAlternatives = ruleAlternatives
        self.alternativeStarts = alternativeStarts
        ruleNames = lowering.names
        self.root = root
        // The start state must be reachable within the matcher's bounds.
        guard GrammarMatcher(validating: self) != nil else { throw .tooComplex(limit: GrammarMatcher.stackLimit) }
    }

    /// The position after terminal `position` consumes `byte`, or nil when it does not match.
    @inline(__always)
    func step(_ position: UInt32, _ byte: UInt8) -> UInt32? {
        let p = Int(position)
        if kinds[p] == .byte { return operands[p] == UInt32(byte) ? position + 1 : nil }
        let target = classRows[Int(operands[p]) &* 256 &+ Int(byte)]
        guard target >= 0 else { return nil }
        return position - UInt32(classStates[p]) + UInt32(target)
    }

    /// Whether terminal `position` takes `byte`, for the set of next bytes.
    func accepts(_ position: UInt32, _ byte: UInt8) -> Bool { step(position, byte) != nil }
}

/// GBNF rules lowered to alternatives of sequences of atoms, with a helper rule for every group
/// and repetition, as llama.cpp's parser does.
struct GrammarLowering {
    enum Atom { case byte(UInt8), codePoints(CodePointSet), rule(Int) }

    let definitions: [GrammarRuleDefinition]
    var names: [String] = []
    var ruleIndex: [String: Int] = [:]
    /// [rules][alternatives][atoms]
    var rules: [[[Atom]]] = []
    private var atomCount = 0

    init(_ definitions: [GrammarRuleDefinition]) {
        self.definitions = definitions
        for d in definitions where ruleIndex[d.name] == nil {
            ruleIndex[d.name] = names.count
            names.append(d.name)
        }
        rules = Array(repeating: [], count: names.count)
    }

    mutating func lower() throws(GrammarError) {
        for d in definitions {
            rules[ruleIndex[d.name]!] = try alternatives(of: d.body, in: d.name)
        }
    }

    private mutating func newRule(_ parent: String, _ alternatives: [[Atom]]) -> Int {
        let index = names.count
        names.append("\(parent)_\(index)")
        rules.append(alternatives)
        return index
    }

    private mutating func alternatives(of expression: GrammarExpression, in rule: String) throws(GrammarError) -> [[Atom]] {
        if case .alternatives(let choices) = expression {
            var out: [[Atom]] = []
            for choice in choices { out.append(try sequence(choice, in: rule)) }
            return out
        }
        return [try sequence(expression, in: rule)]
    }

    private mutating func count(_ atoms: Int) throws(GrammarError) {
        atomCount += atoms
        guard atomCount <= CompiledGrammar.elementLimit else { throw .tooLarge(what: "grammar elements", limit: CompiledGrammar.elementLimit) }
    }

    private mutating func sequence(_ expression: GrammarExpression, in rule: String) throws(GrammarError) -> [Atom] {
        switch expression {
        case .literal(let bytes):
            try count(bytes.count)
            return bytes.map { .byte($0) }
        case .characterClass(let set):
            try count(1)
            if let single = set.single {
                var bytes: [UInt8] = []
                appendUTF8(single, to: &bytes)
                return bytes.map { .byte($0) }
            }
            return [.codePoints(set)]
        case .reference(let name, let line, let column):
            guard let index = ruleIndex[name] else { throw .undefinedRule(name: name, line: line, column: column) }
            try count(1)
            return [.rule(index)]
        case .sequence(let items):
            var out: [Atom] = []
            for item in items { out += try sequence(item, in: rule) }
            return out
        case .alternatives:
            let choices = try alternatives(of: expression, in: rule)
            try count(1)
            return [.rule(newRule(rule, choices))]
        case .repetition(let item, let minimum, let maximum):
            var unit = try sequence(item, in: rule)
            if unit.count > 1 { unit = [.rule(newRule(rule, [unit]))] }
            var out: [Atom] = []
            try count(minimum * unit.count + 1)
            for _ in 0..<minimum { out += unit }
            if let maximum {
                var optional: Int? = nil
                for _ in 0..<(maximum - minimum) {
                    try count(2)
                    optional = newRule(rule, [unit + (optional.map { [.rule($0)] } ?? []), []])
                }
                if let optional { out.append(.rule(optional)) }
            } else {
                let star = names.count
                _ = newRule(rule, [unit + [.rule(star)], []])
                out.append(.rule(star))
            }
            return out
        }
    }

    /// Refuses a rule that can reach itself before consuming a byte while leaving a return
    /// position behind (`a ::= a "x"`): its stacks would grow without end. A cycle through the
    /// last element of sequences only (`r ::= x r | ` with `x` able to match nothing) keeps the
    /// stack as it is, and the matcher's expansion stops at a stack it has seen.
    func checkLeftRecursion() throws(GrammarError) {
        var nullable = [Bool](repeating: false, count: rules.count)
        var changed = true
        while changed {
            changed = false
            for r in rules.indices where !nullable[r] {
                let empty = rules[r].contains { seq in
                    seq.allSatisfy { if case .rule(let s) = $0 { nullable[s] } else { false } }
                }
                if empty { nullable[r] = true; changed = true }
            }
        }
        // Each rule's edges to the rules it can start with; `grows` when a return position stays.
        let leftmost: [[(rule: Int, grows: Bool)]] = rules.map { alternatives in
            var out: [(Int, Bool)] = []
            for seq in alternatives {
                for (j, atom) in seq.enumerated() {
                    guard case .rule(let s) = atom else { break }
                    out.append((s, j < seq.count - 1))
                    if !nullable[s] { break }
                }
            }
            return out
        }
        let component = Self.stronglyConnectedComponents(leftmost.map { $0.map(\.rule) })
        let written = Set(definitions.map(\.name))
        for (rule, edges) in leftmost.enumerated() {
            for edge in edges where edge.grows && component[edge.rule] == component[rule] {
                // Name a rule of the cycle the user wrote, not a helper.
                let named = rules.indices.first { component[$0] == component[rule] && written.contains(names[$0]) } ?? rule
                throw .leftRecursion(rule: names[named])
            }
        }
    }

    /// Tarjan's algorithm, iterative: the component number of each vertex.
    static func stronglyConnectedComponents(_ edges: [[Int]]) -> [Int] {
        let n = edges.count
        var index = [Int](repeating: -1, count: n), low = [Int](repeating: 0, count: n)
        var onStack = [Bool](repeating: false, count: n), component = [Int](repeating: -1, count: n)
        var stack: [Int] = [], counter = 0, components = 0
        for start in 0..<n where index[start] < 0 {
            var path: [(vertex: Int, next: Int)] = [(start, 0)]
            index[start] = counter; low[start] = counter; counter += 1
            stack.append(start); onStack[start] = true
            while let (v, next) = path.last {
                if next < edges[v].count {
                    path[path.count - 1].next += 1
                    let w = edges[v][next]
                    if index[w] < 0 {
                        index[w] = counter; low[w] = counter; counter += 1
                        stack.append(w); onStack[w] = true
                        path.append((w, 0))
                    } else if onStack[w] {
                        low[v] = min(low[v], index[w])
                    }
                } else {
                    path.removeLast()
                    if let parent = path.last { low[parent.vertex] = min(low[parent.vertex], low[v]) }
                    if low[v] == index[v] {
                        while let w = stack.popLast() {
                            onStack[w] = false
                            component[w] = components
                            if w == v { break }
                        }
                        components += 1
                    }
                }
            }
        }
        return component
    }
}
