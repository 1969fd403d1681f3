/// A deterministic automaton over sets of parse stacks, built lazily while masks are computed.
///
/// Stacks are hash-consed into nodes (position, parent), so equal stacks are one node and a
/// set of stacks is a sorted list of node ids; each distinct set is a state. Stepping a state
/// by a byte does what `GrammarMatcher.accept(byte:)` does to the same stacks, and the result is
/// remembered: inside a string or a repetition the set returns to the same state, so scanning
/// the vocabulary trie costs a table lookup per trie node once warm.
struct StackAutomaton {
    static let dead: Int32 = -1
    private static let unknown: Int32 = -2

    let grammar: CompiledGrammar

    /// [nodes] the position at the top of the node's stack.
    private var nodePositions: [UInt32] = []
    /// [nodes] the node below (the rest of the stack), -1 at the bottom.
    private var nodeParents: [Int32] = []
    /// [nodes] the stack's depth (positions in it).
    private var nodeDepths: [Int32] = []
    /// (position << 32 | parent bits) → node id.
    private var nodeIndex: [UInt64: Int32] = [:]

    /// [states] the top nodes of the state's stacks, ascending.
    private var stateMembers: [[Int32]] = []
    /// [states] whether the state holds the empty stack (the grammar can end).
    private(set) var stateCanEnd: [Bool] = []
    private var stateIndex: [StateKey: Int32] = [:]
    /// [remembered states × 256] the state after each byte: `dead`, `unknown`, or a state id.
    /// States past `rememberedStates` are stepped afresh each time.
    private var transitions: [Int32] = []

    /// States whose transitions are kept (256 × 4 bytes each).
    static let rememberedStates = 8192
    /// Past these sizes the automaton is emptied before the next use.
    static let nodeLimit = 1 << 21
    static let stateLimit = 1 << 16

    private struct StateKey: Hashable { var members: [Int32]; var canEnd: Bool }

    init(_ grammar: CompiledGrammar) { self.grammar = grammar }

    var isOversized: Bool { nodePositions.count > Self.nodeLimit || stateMembers.count > Self.stateLimit }
    var stateCount: Int { stateMembers.count }

    private mutating func node(_ position: UInt32, _ parent: Int32) -> Int32 {
        let key = UInt64(position) << 32 | UInt64(UInt32(bitPattern: parent))
        if let id = nodeIndex[key] { return id }
        let id = Int32(nodePositions.count)
        nodePositions.append(position)
        nodeParents.append(parent)
        nodeDepths.append(parent < 0 ? 1 : nodeDepths[Int(parent)] + 1)
        nodeIndex[key] = id
        return id
    }

    private mutating func state(_ members: [Int32], canEnd: Bool) -> Int32 {
        let key = StateKey(members: members, canEnd: canEnd)
        if let id = stateIndex[key] { return id }
        let id = Int32(stateMembers.count)
        stateMembers.append(members)
        stateCanEnd.append(canEnd)
        stateIndex[key] = id
        if stateMembers.count <= Self.rememberedStates {
            transitions.append(contentsOf: repeatElement(Self.unknown, count: 256))
        }
        return id
    }

    /// The state of a matcher's stacks.
    mutating func state(of matcher: GrammarMatcher) -> Int32 {
        var members: [Int32] = []
        var canEnd = false
        for stack in matcher.stacks {
            guard !stack.isEmpty else { canEnd = true; continue }
            var id: Int32 = -1
            for position in stack { id = node(position, id) }
            members.append(id)
        }
        members.sort()
        return state(members, canEnd: canEnd)
    }

    /// The state after `byte`, or `dead`.
    @inline(__always)
    mutating func step(_ state: Int32, _ byte: UInt8) -> Int32 {
        if Int(state) < Self.rememberedStates {
            let slot = Int(state) &* 256 &+ Int(byte)
            let known = transitions[slot]
            if known != Self.unknown { return known }
            let next = compute(state, byte)
            transitions[slot] = next
            return next
        }
        return compute(state, byte)
    }

    /// `GrammarMatcher.accept(byte:)` on nodes, with the same step count and limits.
    private mutating func compute(_ state: Int32, _ byte: UInt8) -> Int32 {
        var reached: [Int32] = []
        var canEnd = false
        var steps = 0
        var work: [(position: UInt32, parent: Int32)] = []
        // Stacks already expanded for this byte (position << 32 | parent), as the matcher keeps.
        var visited: Set<UInt64> = []
        func push(_ position: UInt32, _ parent: Int32) {
            if visited.insert(UInt64(position) << 32 | UInt64(UInt32(bitPattern: parent))).inserted { work.append((position, parent)) }
        }
        for top in stateMembers[Int(state)] {
            guard let next = grammar.step(nodePositions[Int(top)], byte) else { continue }
            push(next, nodeParents[Int(top)])
            while let (position, parent) = work.popLast() {
                steps += 1
                guard steps <= GrammarMatcher.expansionLimit else { return Self.dead }
                switch grammar.kinds[Int(position)] {
                case .end:
                    if parent < 0 { canEnd = true } else { push(nodePositions[Int(parent)], nodeParents[Int(parent)]) }
                case .rule:
                    let below = grammar.kinds[Int(position) + 1] == .end ? parent : node(position + 1, parent)
                    let rule = Int(grammar.operands[Int(position)])
                    for a in grammar.ruleAlternatives[rule]..<grammar.ruleAlternatives[rule + 1] {
                        push(grammar.alternativeStarts[Int(a)], below)
                    }
                case .byte, .classState:
                    reached.append(node(position, parent))
                }
            }
        }
        reached.sort()
        var unique: [Int32] = []
        unique.reserveCapacity(reached.count)
        for id in reached where unique.last != id { unique.append(id) }
        guard !unique.isEmpty || canEnd, unique.count + (canEnd ? 1 : 0) <= GrammarMatcher.stackLimit else { return Self.dead }
        var positions = 0
        for id in unique { positions += Int(nodeDepths[Int(id)]) }
        guard positions <= GrammarMatcher.positionLimit else { return Self.dead }
        return self.state(unique, canEnd: canEnd)
    }
}
