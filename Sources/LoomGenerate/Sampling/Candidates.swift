import Foundation

/// The tokens still in the running at one step, with their scores, as a sampler chain narrows
/// them (llama.cpp's `llama_token_data_array`).
///
/// Storage is kept between steps, so a step allocates nothing once the first has run. Only the
/// first `count` entries are live. Stages that need an order ask for a sorted prefix of the
/// length they need (`sortPrefix`), which costs one selection pass over the candidates plus a
/// sort of that prefix, never a sort of the whole vocabulary.
public struct Candidates {
    /// [capacity] token ids; the first `count` are live.
    public internal(set) var ids: [Int32] = []
    /// [capacity] scores (logits as the stages have changed them).
    public internal(set) var logits: [Float] = []
    /// [capacity] probabilities, valid after `softmax()` until a stage changes a logit.
    public internal(set) var probs: [Float] = []
    /// Live entries.
    public internal(set) var count = 0
    /// How many leading entries are known to be in descending logit order (and are the largest).
    public internal(set) var sortedCount = 0
    /// Whether entry i is token i for every i (true after `load` until a stage reorders or
    /// drops entries), so a stage can find a token without searching.
    public internal(set) var isIdentity = false
    /// [capacity] scratch marks for `sortPrefix`.
    private var taken: [Bool] = []
    /// [capacity] scratch for reordering.
    private var spareIds: [Int32] = []
    private var spareLogits: [Float] = []

    public init() {}

    /// Candidates for every id of `logits` ([vocab]).
    public init(logits: [Float]) {
        load(logits)
    }

    /// Makes every id of `logits` a candidate, reusing storage.
    public mutating func load(_ logits: [Float]) {
        let n = logits.count
        if ids.count < n {
            ids = [Int32](repeating: 0, count: n)
            self.logits = [Float](repeating: 0, count: n)
            probs = [Float](repeating: 0, count: n)
        }
        ids.withUnsafeMutableBufferPointer { out in
            for i in 0..<n { out[i] = Int32(truncatingIfNeeded: i) }
        }
        self.logits.withUnsafeMutableBufferPointer { out in
            logits.withUnsafeBufferPointer { src in out.baseAddress!.update(from: src.baseAddress!, count: n) }
        }
        count = n
        sortedCount = 0
        isIdentity = true
    }

    /// The live ids and logits, for tests and callers that want to look.
    public var live: [(id: Int32, logit: Float)] {
        (0..<count).map { (ids[$0], logits[$0]) }
    }

    /// Sets `probs` to the softmax of the live logits (−∞ logits get probability 0).
    public mutating func softmax() {
        let n = count
        guard n > 0 else { return }
        logits.withUnsafeBufferPointer { l in
            probs.withUnsafeMutableBufferPointer { p in
                var maximum = -Float.infinity
                for i in 0..<n where l[i] > maximum { maximum = l[i] }
                var sum: Float = 0
                for i in 0..<n {
                    let e = maximum == -.infinity ? 1 : expf(l[i] - maximum)
                    p[i] = e
                    sum += e
                }
                let scale = 1 / sum
                for i in 0..<n { p[i] *= scale }
            }
        }
    }

    /// Index of the largest live logit (the first on ties).
    public func argmax() -> Int {
        logits.withUnsafeBufferPointer { l in
            var best = 0
            for i in 1..<max(count, 1) where l[i] > l[best] { best = i }
            return best
        }
    }

    /// Keeps the first `n` live entries.
    public mutating func truncate(to n: Int) {
        if n < count { isIdentity = false }
        count = min(count, max(0, n))
        sortedCount = min(sortedCount, count)
    }

    /// Keeps the entries whose logit is at least `threshold`, in their order.
    mutating func keep(logitAtLeast threshold: Float) {
        var kept = 0
        let n = count
        ids.withUnsafeMutableBufferPointer { ids in
            logits.withUnsafeMutableBufferPointer { l in
                for i in 0..<n where l[i] >= threshold {
                    ids[kept] = ids[i]
                    l[kept] = l[i]
                    kept += 1
                }
            }
        }
        // Filtering keeps order, so a sorted prefix stays sorted up to where it lost entries.
        if sortedCount > 0 { sortedCount = min(sortedCount, kept) }
        if kept < count { isIdentity = false }
        count = kept
    }

    /// Moves entries so the `m` largest logits come first, in descending order (ties keep the
    /// lower index first); the rest follow in their previous order. Costs one pass with a
    /// bounded heap of `m` plus a sort of `m`, so small prefixes of a large vocabulary are cheap.
    /// With `droppingRest`, the entries after the prefix are discarded rather than kept in
    /// their old order, which saves reordering a whole vocabulary when a stage truncates anyway.
    public mutating func sortPrefix(_ m: Int, droppingRest: Bool = false) {
        let n = count
        let m = min(m, n)
        guard m > sortedCount else {
            if droppingRest { count = m }
            return
        }
        if m * 8 >= n {
            sortAll()
            if droppingRest { count = m }
            return
        }
        // [m] indices of the largest logits, as a min-heap by (logit, then larger index first).
        var heap = [Int](repeating: 0, count: m)
        var size = 0
        logits.withUnsafeBufferPointer { l in
            @inline(__always) func less(_ a: Int, _ b: Int) -> Bool { l[a] < l[b] || (l[a] == l[b] && a > b) }
            heap.withUnsafeMutableBufferPointer { h in
                func siftDown(_ start: Int) {
                    var i = start
                    while true {
                        let left = 2 * i + 1
                        if left >= size { return }
                        var child = left
                        if left + 1 < size && less(h[left + 1], h[left]) { child = left + 1 }
                        if !less(h[child], h[i]) { return }
                        h.swapAt(i, child)
                        i = child
                    }
                }
                for i in 0..<n {
                    if size < m {
                        h[size] = i
                        size += 1
                        var c = size - 1
                        while c > 0 {
                            let parent = (c - 1) / 2
                            if !less(h[c], h[parent]) { break }
                            h.swapAt(c, parent)
                            c = parent
                        }
                    } else if less(h[0], i) {
                        h[0] = i
                        siftDown(0)
                    }
                }
            }
            heap.sort { l[$0] > l[$1] || (l[$0] == l[$1] && $0 < $1) }
        }
        if taken.count < n { taken = [Bool](repeating: false, count: ids.count) }
        if spareIds.count < ids.count {
            spareIds = [Int32](repeating: 0, count: ids.count)
            spareLogits = [Float](repeating: 0, count: ids.count)
        }
        let keepRest = !droppingRest
        ids.withUnsafeBufferPointer { ids in
            logits.withUnsafeBufferPointer { logits in
                spareIds.withUnsafeMutableBufferPointer { outIds in
                    spareLogits.withUnsafeMutableBufferPointer { outLogits in
                        taken.withUnsafeMutableBufferPointer { taken in
                            var out = 0
                            for i in heap {
                                outIds[out] = ids[i]; outLogits[out] = logits[i]; out += 1
                            }
                            guard keepRest else { return }
                            for i in heap { taken[i] = true }
                            for i in 0..<n {
                                if taken[i] { taken[i] = false; continue }
                                outIds[out] = ids[i]; outLogits[out] = logits[i]; out += 1
                            }
                        }
                    }
                }
            }
        }
        swap(&ids, &spareIds)
        swap(&logits, &spareLogits)
        sortedCount = m
        if droppingRest { count = m }
        isIdentity = false
    }

    /// Sorts every live entry by descending logit (ties: lower position first).
    mutating func sortAll() {
        let n = count
        guard sortedCount < n else { return }
        var order = Array(0..<n)
        logits.withUnsafeBufferPointer { l in
            order.sort { l[$0] > l[$1] || (l[$0] == l[$1] && $0 < $1) }
        }
        select(order)
        sortedCount = n
    }

    /// Reorders the live entries as `order` (indices into the current live entries) says and
    /// keeps only those listed; the result is not treated as sorted.
    mutating func select(_ order: [Int]) {
        if spareIds.count < ids.count {
            spareIds = [Int32](repeating: 0, count: ids.count)
            spareLogits = [Float](repeating: 0, count: ids.count)
        }
        for (out, i) in order.enumerated() {
            spareIds[out] = ids[i]; spareLogits[out] = logits[i]
        }
        swap(&ids, &spareIds)
        swap(&logits, &spareLogits)
        count = order.count
        sortedCount = 0
        isIdentity = false
    }

    /// Sets one entry's logit; the order is no longer known.
    mutating func setLogit(at index: Int, _ value: Float) {
        logits[index] = value
        sortedCount = 0
    }

    /// Drops the first `n` live entries (the most likely ones when the prefix is sorted).
    mutating func dropFirst(_ n: Int) {
        guard n > 0 else { return }
        let remaining = count - n
        ids.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: $0.baseAddress! + n, count: remaining) }
        logits.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: $0.baseAddress! + n, count: remaining) }
        probs.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: $0.baseAddress! + n, count: remaining) }
        count = remaining
        sortedCount = max(0, sortedCount - n)
        isIdentity = false
    }

    /// Calls `body` with the index of every live entry whose id is a key of `values`.
    func forEachEntry<V>(in values: [Int32: V], _ body: (Int, V) -> Void) {
        if isIdentity {
            for (id, value) in values where id >= 0 && Int(id) < count { body(Int(id), value) }
        } else if values.count > 0 {
            for i in 0..<count { if let value = values[ids[i]] { body(i, value) } }
        }
    }
}
