import LoomTokenizer
import LoomCore

/// The tokens a grammar allows next, as a bitset over the vocabulary.
public struct TokenMask: Sendable, Equatable {
    /// [ceil(vocabularySize / 64)] bit t % 64 of word t / 64 is set when token t is allowed.
    public private(set) var words: [UInt64]
    public let vocabularySize: Int

    init(vocabularySize: Int) {
        self.vocabularySize = vocabularySize
        words = [UInt64](repeating: 0, count: (vocabularySize + 63) / 64)
    }

    public func contains(_ token: Int32) -> Bool {
        token >= 0 && Int(token) < vocabularySize && words[Int(token) >> 6] & (1 << UInt64(token & 63)) != 0
    }

    /// How many tokens are allowed.
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// Sets every refused token's logit to −∞ (and every logit past the vocabulary).
    /// - Parameter logits: [vocab] scores for the next position.
    public func restrict(_ logits: inout [Float]) {
        let covered = min(logits.count, vocabularySize)
        logits.withUnsafeMutableBufferPointer { row in
            for (w, word) in words.enumerated() where word != ~0 {
                let start = w << 6, end = min(start + 64, covered)
                var t = start
                while t < end {
                    if word & (1 << UInt64(t - start)) == 0 { row[t] = -.infinity }
                    t += 1
                }
            }
            for t in covered..<row.count { row[t] = -.infinity }
        }
    }

    mutating func insert(_ token: Int32) { words[Int(token) >> 6] |= 1 << UInt64(token & 63) }
    mutating func remove(_ token: Int32) { words[Int(token) >> 6] &= ~(1 << UInt64(token & 63)) }
}

/// A grammar applied to a tokenizer's vocabulary: which tokens may come next after a matcher's
/// state, so sampling never picks one the grammar forbids.
///
/// Special (control) tokens are never allowed, except `endTokens`, which are allowed exactly
/// when the grammar can end. Build one per (grammar, tokenizer) and share it between requests:
/// the vocabulary trie is shared by every constraint on the same tokenizer, and the automaton
/// behind the masks grows (bounded) as states are met. Calls are serialized on an internal lock.
///
/// The usual sampling loop checks the sampled token with `allows(_:after:)` first and computes
/// the full mask only when that token is refused, as llama.cpp does.
public final class TokenConstraint: Sendable {
    public let grammar: Grammar
    public let endTokens: Set<Int32>
    let tokenizer: Tokenizer
    let trie: TokenTrie
    /// Whether masks are remembered per automaton state (off only to measure the scan).
    let remembersMasks: Bool
    private let cache: Locked<Cache>

    /// Masks remembered before the oldest are dropped (each is vocabulary / 8 bytes).
    static let rememberedMasks = 256

    private struct Cache {
        var automaton: StackAutomaton
        var masks: [Int32: TokenMask] = [:]
        /// [maximum token length + 1] the automaton state at each depth of the trie scan.
        var statesByDepth: [Int32]
    }

    public convenience init(grammar: Grammar, tokenizer: Tokenizer, endTokens: Set<Int32>) {
        self.init(grammar: grammar, tokenizer: tokenizer, endTokens: endTokens, remembersMasks: true)
    }

    init(grammar: Grammar, tokenizer: Tokenizer, endTokens: Set<Int32>, remembersMasks: Bool) {
        self.grammar = grammar
        self.endTokens = endTokens
        self.tokenizer = tokenizer
        self.remembersMasks = remembersMasks
        trie = TokenTrie.shared(for: tokenizer)
        cache = Locked(Cache(automaton: StackAutomaton(grammar.compiled), statesByDepth: [Int32](repeating: 0, count: trie.maximumDepth + 1)))
    }

    /// Whether `token` may come after `matcher`'s state.
    public func allows(_ token: Int32, after matcher: GrammarMatcher) -> Bool {
        precondition(matcher.grammar === grammar.compiled, "the matcher belongs to another grammar")
        if endTokens.contains(token) { return matcher.canEnd }
        guard token >= 0, Int(token) < tokenizer.vocabularySize, !tokenizer.isSpecial(token) else { return false }
        let bytes = tokenizer.bytes(of: token)
        guard !bytes.isEmpty else { return false }
        return cache.withLock { cache in
            Self.resetIfOversized(&cache)
            var state = cache.automaton.state(of: matcher)
            for byte in bytes {
                state = cache.automaton.step(state, byte)
                if state == StackAutomaton.dead { return false }
            }
            return true
        }
    }

    /// Every token that may come after `matcher`'s state.
    public func allowedTokens(after matcher: GrammarMatcher) -> TokenMask {
        precondition(matcher.grammar === grammar.compiled, "the matcher belongs to another grammar")
        var mask = cache.withLock { cache in
            Self.resetIfOversized(&cache)
            let start = cache.automaton.state(of: matcher)
            if let known = cache.masks[start] { return known }
            let mask = scan(from: start, &cache)
            if remembersMasks {
                if cache.masks.count >= Self.rememberedMasks { cache.masks.removeAll(keepingCapacity: true) }
                cache.masks[start] = mask
            }
            return mask
        }
        let canEnd = matcher.canEnd
        for token in endTokens where token >= 0 && Int(token) < mask.vocabularySize {
            if canEnd { mask.insert(token) } else { mask.remove(token) }
        }
        return mask
    }

    /// Feeds `token` to `matcher`. Returns false, leaving it unchanged, when the grammar refuses
    /// the token; an end token is accepted (and changes nothing) when the grammar can end.
    @discardableResult
    public func advance(_ matcher: inout GrammarMatcher, by token: Int32) -> Bool {
        if endTokens.contains(token) { return matcher.canEnd }
        guard token >= 0, Int(token) < tokenizer.vocabularySize, !tokenizer.isSpecial(token) else { return false }
        let bytes = tokenizer.bytes(of: token)
        return !bytes.isEmpty && matcher.accept(bytes)
    }

    private static func resetIfOversized(_ cache: inout Cache) {
        if cache.automaton.isOversized {
            cache.automaton = StackAutomaton(cache.automaton.grammar)
            cache.masks.removeAll()
        }
    }

    /// One forward pass over the trie: a node the automaton rejects skips its whole subtree.
    private func scan(from start: Int32, _ cache: inout Cache) -> TokenMask {
        var mask = TokenMask(vocabularySize: trie.vocabularySize)
        var states = cache.statesByDepth
        states[0] = start
        trie.bytes.withUnsafeBufferPointer { bytes in
            trie.depths.withUnsafeBufferPointer { depths in
                trie.subtreeEnds.withUnsafeBufferPointer { ends in
                    trie.tokenStarts.withUnsafeBufferPointer { starts in
                        trie.tokens.withUnsafeBufferPointer { tokens in
                            var node = 0
                            let count = bytes.count
                            while node < count {
                                let depth = Int(depths[node])
                                let next = cache.automaton.step(states[depth - 1], bytes[node])
                                if next == StackAutomaton.dead {
                                    node = Int(ends[node])
                                    continue
                                }
                                states[depth] = next
                                var t = Int(starts[node])
                                let end = Int(starts[node + 1])
                                while t < end {
                                    mask.insert(tokens[t])
                                    t += 1
                                }
                                node += 1
                            }
                        }
                    }
                }
            }
        }
        cache.statesByDepth = states
        return mask
    }
}
