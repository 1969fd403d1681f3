/// Byte-pair encoding of one piece of text into token ids.
///
/// Two merge semantics cover every format:
/// - `.concatenation`: two adjacent symbols merge when their concatenated bytes are a token, the
///   token with the best priority first (tiktoken ranks; SentencePiece scores as GGUF stores them).
/// - `.pairs`: only the (left, right) pairs of a merges list merge, by the list's order
///   (HF `tokenizer.json`, GGUF `tokenizer.ggml.merges`).
/// Ties go to the leftmost pair in both, as tiktoken, HF tokenizers and llama.cpp do.
struct BytePairEncoder: Sendable {
    enum MergeRule: Sendable {
        /// `priority[id]`: lower merges first; nil means the id itself (tiktoken ranks).
        case concatenation(priority: [UInt32]?)
        case pairs(PairMergeTable)
    }

    /// How a piece starts out before merging.
    enum InitialSymbols: Sendable {
        /// One symbol per byte; every byte is a token (byte-level BPE).
        case bytes
        /// One symbol per UTF-8 character; a character that is no token becomes byte tokens
        /// (`byteFallback[b]`, when the vocabulary has `<0xXX>` tokens) or `unknown`.
        case characters(byteFallback: [Int32]?, unknown: Int32?, fuseUnknown: Bool)
    }

    /// The bytes of every token as the encoder matches them.
    let table: TokenTable
    let rule: MergeRule
    let initial: InitialSymbols
    /// Whether a piece that is itself a token is emitted as that token without merging
    /// (tiktoken always; HF only with `ignore_merges`).
    let wholePieceLookup: Bool
    /// Pieces with at least this many symbols merge through a heap: O(n log n), not O(n²).
    static let heapThreshold = 64

    /// Reusable per-call buffers, so pieces allocate nothing.
    struct Scratch {
        /// [symbols + 1] start offset of each symbol; the last entry is the piece end.
        var starts: [Int] = []
        /// [symbols] token id of each symbol (-1: no token).
        var ids: [Int32] = []
        /// [symbols] priority of merging symbol i with i+1 (UInt32.max: none), and the result.
        var pairRank: [UInt32] = []
        var pairId: [Int32] = []
        var heap = MergeHeap()
    }

    /// Appends the ids of `text[start..<end]` to `out`.
    func encode(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into out: inout [Int32], scratch: inout Scratch) {
        if start >= end { return }
        let base = text.baseAddress!
        if wholePieceLookup, let id = table.id(base + start, end - start) {
            out.append(id)
            return
        }
        scratch.starts.removeAll(keepingCapacity: true)
        scratch.ids.removeAll(keepingCapacity: true)
        switch initial {
        case .bytes:
            var i = start
            while i < end {
                scratch.starts.append(i)
                scratch.ids.append(table.id(base + i, 1) ?? -1)
                i += 1
            }
        case .characters:
            var i = start
            while i < end {
                let n = Self.utf8Length(text[i])
                let len = min(n, end - i)
                scratch.starts.append(i)
                scratch.ids.append(table.id(base + i, len) ?? -1)
                i += len
            }
        }
        scratch.starts.append(end)
        if scratch.ids.count >= Self.heapThreshold {
            mergeWithHeap(base, &scratch)
        } else {
            mergeLinear(base, &scratch)
        }
        emit(base, &scratch, into: &out)
    }

    @inline(__always)
    static func utf8Length(_ lead: UInt8) -> Int {
        lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    }

    /// The merge of the symbols `a` (from `aStart`) and `b` (ending at `bEnd`), if any.
    @inline(__always)
    private func candidate(_ base: UnsafePointer<UInt8>, _ aStart: Int, _ bEnd: Int, _ a: Int32, _ b: Int32) -> (rank: UInt32, id: Int32)? {
        switch rule {
        case .concatenation(let priority):
            guard let id = table.id(base + aStart, bEnd - aStart) else { return nil }
            return (priority.map { $0[Int(id)] } ?? UInt32(id), id)
        case .pairs(let merges):
            guard a >= 0, b >= 0 else { return nil }
            return merges.merge(a, b)
        }
    }

    /// tiktoken's loop for short pieces: find the best pair, merge it, refresh its neighbours.
    private func mergeLinear(_ base: UnsafePointer<UInt8>, _ s: inout Scratch) {
        let n = s.ids.count
        s.pairRank.removeAll(keepingCapacity: true)
        s.pairId.removeAll(keepingCapacity: true)
        for i in 0..<n {
            if i + 1 < n, let m = candidate(base, s.starts[i], s.starts[i + 2], s.ids[i], s.ids[i + 1]) {
                s.pairRank.append(m.rank); s.pairId.append(m.id)
            } else {
                s.pairRank.append(.max); s.pairId.append(-1)
            }
        }
        var count = n
        while count > 1 {
            var best = UInt32.max, at = -1
            for i in 0..<(count - 1) where s.pairRank[i] < best { best = s.pairRank[i]; at = i }
            if at < 0 { break }
            s.ids[at] = s.pairId[at]
            s.ids.remove(at: at + 1)
            s.starts.remove(at: at + 1)
            s.pairRank.remove(at: at + 1)
            s.pairId.remove(at: at + 1)
            count -= 1
            for i in [at - 1, at] where i >= 0 {
                if i + 1 < count, let m = candidate(base, s.starts[i], s.starts[i + 2], s.ids[i], s.ids[i + 1]) {
                    s.pairRank[i] = m.rank; s.pairId[i] = m.id
                } else {
                    s.pairRank[i] = .max; s.pairId[i] = -1
                }
            }
        }
    }

    /// Long pieces: symbols in a linked list, candidate pairs in a min-heap keyed by
    /// (rank, left start). Stale entries are recognised by the symbol ends they were made for.
    private func mergeWithHeap(_ base: UnsafePointer<UInt8>, _ s: inout Scratch) {
        let n = s.ids.count
        // ends[i]: end of symbol i (-1 once merged away); next/prev: neighbours (-1: none).
        var ends = [Int](unsafeUninitializedCapacity: n) { b, c in for i in 0..<n { b[i] = s.starts[i + 1] }; c = n }
        var next = [Int](unsafeUninitializedCapacity: n) { b, c in for i in 0..<n { b[i] = i + 1 < n ? i + 1 : -1 }; c = n }
        var prev = [Int](unsafeUninitializedCapacity: n) { b, c in for i in 0..<n { b[i] = i - 1 }; c = n }
        s.heap.removeAll()
        func push(_ left: Int, _ right: Int) {
            guard let m = candidate(base, s.starts[left], ends[right], s.ids[left], s.ids[right]) else { return }
            s.heap.push(MergeHeap.Entry(
                key: UInt64(m.rank) << 32 | UInt64(s.starts[left]), left: Int32(left),
                leftEnd: Int32(ends[left]), rightEnd: Int32(ends[right]), id: m.id))
        }
        for i in 0..<(n - 1) { push(i, i + 1) }
        while let e = s.heap.pop() {
            let left = Int(e.left)
            let right = next[left]
            guard ends[left] == Int(e.leftEnd), right >= 0, ends[right] == Int(e.rightEnd) else { continue }
            s.ids[left] = e.id
            ends[left] = ends[right]
            ends[right] = -1
            let after = next[right]
            next[left] = after
            if after >= 0 { prev[after] = left }
            if prev[left] >= 0 { push(prev[left], left) }
            if after >= 0 { push(left, after) }
        }
        // Compact the surviving symbols back into starts/ids.
        var k = 0
        var i = 0
        while i >= 0 && i < n {
            s.starts[k] = s.starts[i]
            s.ids[k] = s.ids[i]
            k += 1
            let e = ends[i]
            i = next[i]
            if i < 0 { s.starts[k] = e }
        }
        s.ids.removeLast(n - k)
        s.starts.removeLast(n + 1 - (k + 1))
    }

    private func emit(_ base: UnsafePointer<UInt8>, _ s: inout Scratch, into out: inout [Int32]) {
        var lastWasUnknown = false
        for (i, id) in s.ids.enumerated() {
            if id >= 0 { out.append(id); lastWasUnknown = false; continue }
            guard case let .characters(byteFallback, unknown, fuseUnknown) = initial else { continue }
            if let byteFallback {
                for p in s.starts[i]..<s.starts[i + 1] { out.append(byteFallback[Int(base[p])]) }
                lastWasUnknown = false
            } else if let unknown {
                if !(fuseUnknown && lastWasUnknown) { out.append(unknown) }
                lastWasUnknown = true
            }
        }
    }
}

/// A binary min-heap of candidate merges.
struct MergeHeap {
    struct Entry {
        /// rank << 32 | left start: the lowest rank first, then the leftmost.
        var key: UInt64
        var left: Int32
        var leftEnd: Int32
        var rightEnd: Int32
        var id: Int32
    }

    private var items: [Entry] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent].key <= items[i].key { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return top }
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && items[l].key < items[m].key { m = l }
            if r < n && items[r].key < items[m].key { m = r }
            if m == i { break }
            items.swapAt(m, i)
            i = m
        }
        return top
    }
}
