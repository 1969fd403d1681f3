/// How far a grammar has matched: the set of parse stacks still alive after the bytes accepted
/// so far (llama.cpp's `llama_grammar_advance_stack` / `accept`, on bytes rather than code
/// points).
///
/// A value: copy it to snapshot and assign the copy back to rewind (the copy is cheap until one
/// side accepts more bytes).
public struct GrammarMatcher: Sendable {
    let grammar: CompiledGrammar
    /// [stacks][depth] grammar positions, bottom first. The top of each is a terminal; an empty
    /// stack means the grammar has matched completely. No two stacks are equal.
    private(set) var stacks: [[UInt32]]
    /// Whether the last `accept` was refused because matching would need more than `stackLimit`
    /// stacks or `expansionLimit` expansion steps (a pathological grammar, not a mismatch).
    public private(set) var exceededLimit = false

    /// The most parse stacks alive at once; a byte that would need more is refused.
    public static let stackLimit = 4096
    /// The most expansion steps (rule entries, returns and arrivals at a terminal) one byte may
    /// take; a byte that would need more is refused.
    public static let expansionLimit = 1 << 16
    /// The most positions all stacks may hold together (their summed depths); a byte that would
    /// need more is refused, so memory stays bounded however ambiguous the grammar.
    public static let positionLimit = 1 << 18

    /// The matcher before any input.
    public init(_ grammar: Grammar) {
        self.grammar = grammar.compiled
        stacks = Self.start(grammar.compiled)!
    }

    /// The start state, or nil when it exceeds the bounds (which `Grammar` refuses to build).
    init?(validating grammar: CompiledGrammar) {
        guard let stacks = Self.start(grammar) else { return nil }
        self.grammar = grammar
        self.stacks = stacks
    }

    private static func start(_ grammar: CompiledGrammar) -> [[UInt32]]? {
        var expansion = Expansion()
        let rule = grammar.root
        for a in grammar.ruleAlternatives[rule]..<grammar.ruleAlternatives[rule + 1] {
            guard expansion.expand([grammar.alternativeStarts[Int(a)]], grammar) else { return nil }
        }
        return expansion.stacks.count <= stackLimit && expansion.positions <= positionLimit ? expansion.stacks : nil
    }

    /// Whether the bytes so far are a complete match (generation may stop here).
    public var canEnd: Bool { stacks.contains { $0.isEmpty } }

    /// Whether some byte can still follow.
    public var canContinue: Bool { stacks.contains { !$0.isEmpty } }

    /// Consumes `bytes`. Returns false, leaving the matcher as it was, when the grammar cannot
    /// match them here.
    @discardableResult
    public mutating func accept(_ bytes: some Collection<UInt8>) -> Bool {
        let saved = stacks
        for byte in bytes where !accept(byte: byte) {
            stacks = saved
            return false
        }
        return true
    }

    /// Consumes one byte; on false the matcher is unchanged.
    public mutating func accept(byte: UInt8) -> Bool {
        var expansion = Expansion()
        exceededLimit = false
        for stack in stacks {
            guard let top = stack.last, let next = grammar.step(top, byte) else { continue }
            var advanced = stack
            advanced[advanced.count - 1] = next
            guard expansion.expand(advanced, grammar) else { exceededLimit = true; return false }
        }
        guard expansion.stacks.count <= Self.stackLimit, expansion.positions <= Self.positionLimit else { exceededLimit = true; return false }
        guard !expansion.stacks.isEmpty else { return false }
        stacks = expansion.stacks
        return true
    }

    /// [256] whether each byte can come next.
    public var nextBytes: [Bool] {
        var allowed = [Bool](repeating: false, count: 256)
        for stack in stacks {
            guard let top = stack.last else { continue }
            for byte in 0..<256 where !allowed[byte] && grammar.accepts(top, UInt8(byte)) { allowed[byte] = true }
        }
        return allowed
    }

    /// Expands stacks whose top may be a rule, an end or a return position into stacks whose
    /// top is a terminal, counting steps against `expansionLimit`. A stack met twice is expanded
    /// once, so a repetition of something that can be empty (`( [x]* )*`) ends.
    struct Expansion {
        var stacks: [[UInt32]] = []
        /// The summed depth of `stacks`.
        private(set) var positions = 0
        private var visited: Set<[UInt32]> = []
        private var steps = 0

        /// False when the step budget runs out.
        mutating func expand(_ stack: [UInt32], _ grammar: CompiledGrammar) -> Bool {
            var work: [[UInt32]] = []
            push(stack, &work)
            while var s = work.popLast() {
                steps += 1
                guard steps <= GrammarMatcher.expansionLimit else { return false }
                let top = s[s.count - 1]
                switch grammar.kinds[Int(top)] {
                case .end:
                    s.removeLast()
                    if s.isEmpty { add(s) } else { push(s, &work) }
                case .rule:
                    s.removeLast()
                    // A rule at the end of a sequence needs no return position (so right
                    // recursion, which repetitions lower to, keeps the stack flat).
                    if grammar.kinds[Int(top) + 1] != .end { s.append(top + 1) }
                    let rule = Int(grammar.operands[Int(top)])
                    for a in grammar.ruleAlternatives[rule]..<grammar.ruleAlternatives[rule + 1] {
                        var t = s
                        t.append(grammar.alternativeStarts[Int(a)])
                        push(t, &work)
                    }
                case .byte, .classState:
                    add(s)
                }
            }
            return true
        }

        private mutating func push(_ stack: [UInt32], _ work: inout [[UInt32]]) {
            if visited.insert(stack).inserted { work.append(stack) }
        }

        private mutating func add(_ stack: [UInt32]) {
            if stack.isEmpty, stacks.contains(where: \.isEmpty) { return }
            stacks.append(stack)
            positions += stack.count
        }
    }
}
