/// Byte-pair encoding of one piece of text into token ids.
///
/// Two merge semantics cover every format:
/// - `.concatenation`: two adjacent symbols merge when their concatenated bytes are a token, the
///   token with the best priority first (tiktoken ranks; SentencePiece scores as GGUF stores them).
/// - `.pairs`: only the (left, right) pairs of a merges list merge, by the list's order
///   (HF `tokenizer.json`, GGUF `tokenizer.ggml.merges`).
/// Ties go to the leftmost pair in both, as tiktoken, HF tokenizers and llama.cpp do.
struct BytePairEncoder: Sendable {
    /// Merge priority per id, in raw memory for the merge loops. [vocabulary] ranks.
    final class Priority: @unchecked Sendable {
        let ranks: UnsafeMutablePointer<UInt32>
        let count: Int
        init(_ values: [UInt32]) {
            count = values.count
            ranks = .allocate(capacity: max(count, 1))
            for (i, v) in values.enumerated() { ranks[i] = v }
        }
        deinit { ranks.deallocate() }
    }

    enum MergeRule: Sendable {
        /// `priority[id]`: lower merges first; nil means the id itself (tiktoken ranks).
        case concatenation(priority: Priority?)
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

    init(table: TokenTable, rule: MergeRule, initial: InitialSymbols, wholePieceLookup: Bool) {
        self.table = table
        self.rule = rule
        self.initial = initial
        self.wholePieceLookup = wholePieceLookup
    }
    /// Pieces with at least this many symbols merge through a heap: O(n log n), not O(n²)
    /// (measured on the corpus: 24, 48 and 80 are within noise; 128 is slower).
    static let heapThreshold = 48
    /// Tests force the linear merge to compare it with the heap.
    var linearOnly = false

    /// Reusable buffers for one encode call, so pieces allocate nothing. Capacities grow with
    /// the longest piece seen.
    final class Scratch {
        private(set) var capacity = 0
        /// [symbols + 1] start offset of each symbol; the last entry is the piece end.
        var starts: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
        /// [symbols] token id of each symbol (-1: no token).
        var ids: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
        /// [symbols] priority of merging symbol i with i+1 (UInt32.max: none), and its result.
        var pairRank: UnsafeMutablePointer<UInt32> = .allocate(capacity: 1)
        var pairId: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
        /// [symbols] heap merge: end of each symbol (-1 once merged away) and its neighbours.
        var ends: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
        var next: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
        var prev: UnsafeMutablePointer<Int> = .allocate(capacity: 1)
        let heap = MergeHeap()

        init() {}

        func reserve(_ n: Int) {
            guard n + 1 > capacity else { return }
            release()
            capacity = max(n + 1, 2 * capacity, 256)
            starts = .allocate(capacity: capacity); ids = .allocate(capacity: capacity)
            pairRank = .allocate(capacity: capacity); pairId = .allocate(capacity: capacity)
            ends = .allocate(capacity: capacity); next = .allocate(capacity: capacity); prev = .allocate(capacity: capacity)
        }

        private func release() {
            starts.deallocate(); ids.deallocate(); pairRank.deallocate(); pairId.deallocate()
            ends.deallocate(); next.deallocate(); prev.deallocate()
        }

        deinit { release() }
    }

    /// Appends the ids of `text[start..<end]` to `out`.
    @inline(__always)
    func encode(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into out: inout [Int32], scratch s: Scratch) {
        if start >= end { return }
        let base = text.baseAddress!
        let table = self.table.storage
        if wholePieceLookup, let id = table.find(base + start, end - start) {
            out.append(id)
            return
        }
        s.reserve(end - start)
        var n = 0
        switch initial {
        case .bytes:
            for i in start..<end {
                s.starts[n] = i
                s.ids[n] = table.byteIds[Int(base[i])]
                n += 1
            }
        case .characters:
            var i = start
            while i < end {
                let len = min(Self.utf8Length(base[i]), end - i)
                s.starts[n] = i
                s.ids[n] = table.find(base + i, len) ?? -1
                n += 1
                i += len
            }
        }
        s.starts[n] = end
        switch rule {
        case .concatenation(let priority):
            n = merge(base, s, n, ConcatenationCandidates(table: self.table.raw, priority: priority?.ranks))
        case .pairs(let merges):
            n = merge(base, s, n, PairCandidates(merges: merges.raw))
        }
        emit(base, s, n, into: &out)
    }

    /// `encode` with the linear merge whatever the length (tests compare it with the heap).
    func encodeLinearForTesting(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into out: inout [Int32], scratch: Scratch) {
        var copy = self
        copy.linearOnly = true
        copy.encode(text, start, end, into: &out, scratch: scratch)
    }

    @inline(__always)
    static func utf8Length(_ lead: UInt8) -> Int {
        lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    }

    @inline(__always)
    private func merge<C: MergeCandidates>(_ base: UnsafePointer<UInt8>, _ s: Scratch, _ n: Int, _ c: C) -> Int {
        n >= Self.heapThreshold && !linearOnly ? mergeWithHeap(base, s, n, c) : mergeLinear(base, s, n, c)
    }

    /// tiktoken's loop for short pieces: find the best pair, merge it, refresh its neighbours.
    /// Returns the number of symbols left.
    private func mergeLinear<C: MergeCandidates>(_ base: UnsafePointer<UInt8>, _ s: Scratch, _ n: Int, _ c: C) -> Int {
        let starts = s.starts, ids = s.ids, rank = s.pairRank, pairId = s.pairId
        for i in 0..<n {
            if i + 1 < n {
                (rank[i], pairId[i]) = c.candidate(base, starts[i], starts[i + 2], ids[i], ids[i + 1])
            } else {
                rank[i] = .max
            }
        }
        var count = n
        while count > 1 {
            var best = UInt32.max, at = -1
            for i in 0..<(count - 1) where rank[i] < best { best = rank[i]; at = i }
            if at < 0 { break }
            ids[at] = pairId[at]
            // Remove symbol at + 1.
            let tail = count - (at + 2)
            if tail > 0 {
                (ids + at + 1).update(from: ids + at + 2, count: tail)
                (rank + at + 1).update(from: rank + at + 2, count: tail)
                (pairId + at + 1).update(from: pairId + at + 2, count: tail)
            }
            (starts + at + 1).update(from: starts + at + 2, count: tail + 1)
            count -= 1
            if at > 0 { (rank[at - 1], pairId[at - 1]) = c.candidate(base, starts[at - 1], starts[at + 1], ids[at - 1], ids[at]) }
            if at + 1 < count {
                (rank[at], pairId[at]) = c.candidate(base, starts[at], starts[at + 2], ids[at], ids[at + 1])
            } else {
                rank[at] = .max
            }
        }
        return count
    }

    /// Long pieces: symbols in a linked list, candidate pairs in a min-heap keyed by
    /// (rank, left start). Stale entries are recognised by the symbol ends they were made for.
    /// Returns the number of symbols left, compacted to the front of `starts`/`ids`.
    private func mergeWithHeap<C: MergeCandidates>(_ base: UnsafePointer<UInt8>, _ s: Scratch, _ n: Int, _ c: C) -> Int {
        let starts = s.starts, ids = s.ids, ends = s.ends, next = s.next, prev = s.prev
        for i in 0..<n {
            ends[i] = starts[i + 1]
            next[i] = i + 1 < n ? i + 1 : -1
            prev[i] = i - 1
        }
        s.heap.removeAll()
        let heap = s.heap
        @inline(__always) func entry(_ left: Int, _ right: Int) -> MergeHeap.Entry? {
            let m = c.candidate(base, starts[left], ends[right], ids[left], ids[right])
            guard m.rank != .max else { return nil }
            return MergeHeap.Entry(key: UInt64(m.rank) << 32 | UInt64(starts[left]), left: Int32(left),
                                   leftEnd: Int32(ends[left]), rightEnd: Int32(ends[right]), id: m.id)
        }
        for i in 0..<(n - 1) { if let e = entry(i, i + 1) { heap.append(e) } }
        heap.heapify()
        while let e = heap.pop() {
            let left = Int(e.left)
            let right = next[left]
            guard ends[left] == Int(e.leftEnd), right >= 0, ends[right] == Int(e.rightEnd) else { continue }
            ids[left] = e.id
            ends[left] = ends[right]
            ends[right] = -1
            let after = next[right]
            next[left] = after
            if after >= 0 { prev[after] = left }
            if prev[left] >= 0, let e = entry(prev[left], left) { heap.push(e) }
            if after >= 0, let e = entry(left, after) { heap.push(e) }
        }
        var k = 0
        var i = 0
        while i >= 0 {
            starts[k] = starts[i]
            ids[k] = ids[i]
            k += 1
            let end = ends[i]
            i = next[i]
            if i < 0 { starts[k] = end }
        }
        return k
    }

    @inline(__always)
    private func emit(_ base: UnsafePointer<UInt8>, _ s: Scratch, _ n: Int, into out: inout [Int32]) {
        var lastWasUnknown = false
        for i in 0..<n {
            let id = s.ids[i]
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

/// What two adjacent symbols merge into: its priority (UInt32.max: none) and result id.
protocol MergeCandidates {
    func candidate(_ base: UnsafePointer<UInt8>, _ aStart: Int, _ bEnd: Int, _ a: Int32, _ b: Int32) -> (rank: UInt32, id: Int32)
}

/// tiktoken and SentencePiece-score semantics: the concatenated bytes must be a token.
struct ConcatenationCandidates: MergeCandidates {
    let table: TokenTable.Raw
    /// [vocabulary] priority per id; nil: the id is the priority.
    let priority: UnsafeMutablePointer<UInt32>?

    @inline(__always)
    func candidate(_ base: UnsafePointer<UInt8>, _ aStart: Int, _ bEnd: Int, _ a: Int32, _ b: Int32) -> (rank: UInt32, id: Int32) {
        guard let id = table.find(base + aStart, bEnd &- aStart) else { return (.max, -1) }
        return (priority.map { $0[Int(id)] } ?? UInt32(truncatingIfNeeded: id), id)
    }
}

/// Merges-list semantics: only listed (left, right) pairs merge.
struct PairCandidates: MergeCandidates {
    let merges: PairMergeTable.Raw

    @inline(__always)
    func candidate(_ base: UnsafePointer<UInt8>, _ aStart: Int, _ bEnd: Int, _ a: Int32, _ b: Int32) -> (rank: UInt32, id: Int32) {
        guard a >= 0, b >= 0 else { return (.max, -1) }
        return merges.merge(a, b)
    }
}

/// A binary min-heap of candidate merges, in raw memory reused across pieces.
final class MergeHeap {
    struct Entry {
        /// rank << 32 | left start: the lowest rank first, then the leftmost.
        var key: UInt64
        var left: Int32
        var leftEnd: Int32
        var rightEnd: Int32
        var id: Int32
    }

    /// [capacity] entries; `items[0..<count]` is a heap once `heapify` ran.
    private var items: UnsafeMutablePointer<Entry> = .allocate(capacity: 16)
    private var capacity = 16
    private(set) var count = 0

    init() {}
    deinit { items.deallocate() }

    func removeAll() { count = 0 }

    /// Adds an entry without restoring the heap order (before `heapify`).
    @inline(__always)
    func append(_ e: Entry) {
        if count == capacity { grow() }
        items[count] = e
        count += 1
    }

    private func grow() {
        let bigger = UnsafeMutablePointer<Entry>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: items, count: count)
        items.deallocate()
        items = bigger
        capacity *= 2
    }

    /// Orders the appended entries into a heap in O(n).
    func heapify() {
        var i = count / 2
        while i > 0 { i -= 1; siftDown(i) }
    }

    @inline(__always)
    func push(_ e: Entry) {
        append(e)
        var i = count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent].key <= e.key { break }
            items[i] = items[parent]
            i = parent
        }
        items[i] = e
    }

    @inline(__always)
    func pop() -> Entry? {
        guard count > 0 else { return nil }
        let top = items[0]
        count -= 1
        if count > 0 {
            items[0] = items[count]
            siftDown(0)
        }
        return top
    }

    @inline(__always)
    private func siftDown(_ start: Int) {
        var i = start
        let e = items[i]
        while true {
            let l = 2 * i + 1
            if l >= count { break }
            var m = l
            if l + 1 < count && items[l + 1].key < items[l].key { m = l + 1 }
            if items[m].key >= e.key { break }
            items[i] = items[m]
            i = m
        }
        items[i] = e
    }
}
