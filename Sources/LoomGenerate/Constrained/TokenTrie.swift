import LoomTokenizer
import LoomCore

/// The vocabulary's token byte strings as a trie laid out in depth-first order, so the mask can
/// be computed in one forward scan that skips the subtree under every rejected prefix.
///
/// Special (control) tokens are left out: they are never text a grammar matches.
final class TokenTrie: Sendable {
    /// [nodes] the byte on the edge into each node (the root is not stored).
    let bytes: [UInt8]
    /// [nodes] the node's depth, from 1 (its byte is the token's byte at depth - 1).
    let depths: [UInt16]
    /// [nodes] the index just past the node's subtree: where the scan goes when the node is rejected.
    let subtreeEnds: [Int32]
    /// [nodes + 1] the tokens whose bytes end at node i are `tokens[tokenStarts[i]..<tokenStarts[i+1]]`.
    let tokenStarts: [Int32]
    /// [tokens in the trie] token ids, grouped by node.
    let tokens: [Int32]
    let vocabularySize: Int
    let maximumDepth: Int

    /// Builds the trie of every non-special, non-empty token except `excluded`.
    init(_ tokenizer: Tokenizer, excluding excluded: Set<Int32> = []) {
        vocabularySize = tokenizer.vocabularySize
        var pieces: [(bytes: [UInt8], id: Int32)] = []
        pieces.reserveCapacity(vocabularySize)
        for id in 0..<Int32(vocabularySize) where !tokenizer.isSpecial(id) && !excluded.contains(id) {
            let b = tokenizer.bytes(of: id)
            if !b.isEmpty { pieces.append((b, id)) }
        }
        // Sorted byte strings give the depth-first order directly: each string's new nodes are
        // the part after its common prefix with the previous one.
        pieces.sort { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        var bytes: [UInt8] = [], depths: [UInt16] = [], tokenStarts: [Int32] = [], tokens: [Int32] = []
        var subtreeEnds: [Int32] = []
        /// [depth] the node on the path to the previous string at each depth (index 0: root).
        var path: [Int] = []
        var previous: [UInt8] = []
        var maximumDepth = 0
        for (piece, id) in pieces {
            var common = 0
            while common < min(piece.count, previous.count), piece[common] == previous[common] { common += 1 }
            // Nodes of the previous path below the common prefix are finished.
            while path.count > common {
                subtreeEnds[path.removeLast()] = Int32(bytes.count)
            }
            for depth in common..<piece.count {
                path.append(bytes.count)
                bytes.append(piece[depth])
                depths.append(UInt16(depth + 1))
                subtreeEnds.append(0)
                tokenStarts.append(Int32(tokens.count))
            }
            maximumDepth = max(maximumDepth, piece.count)
            // The string's last node is the newest one (an equal string adds no node), so
            // appending here puts the id in that node's range.
            tokens.append(id)
            previous = piece
        }
        for node in path { subtreeEnds[node] = Int32(bytes.count) }
        tokenStarts.append(Int32(tokens.count))
        self.bytes = bytes
        self.depths = depths
        self.subtreeEnds = subtreeEnds
        self.tokenStarts = tokenStarts
        self.tokens = tokens
        self.maximumDepth = maximumDepth
    }

    /// The trie of each tokenizer (with no exclusions), built once and shared while the tokenizer lives.
    static func shared(for tokenizer: Tokenizer) -> TokenTrie {
        let key = ObjectIdentifier(tokenizer)
        if let cached = cache.withLock({ $0[key].flatMap { $0.tokenizer === tokenizer ? $0.trie : nil } }) { return cached }
        let trie = TokenTrie(tokenizer)
        cache.withLock { entries in
            entries = entries.filter { $0.value.tokenizer != nil }
            entries[key] = Entry(tokenizer: tokenizer, trie: trie)
        }
        return trie
    }

    private struct Entry: @unchecked Sendable {
        weak var tokenizer: Tokenizer?
        let trie: TokenTrie
    }
    private static let cache = Locked<[ObjectIdentifier: Entry]>([:])
}
