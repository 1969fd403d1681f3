/// Merge rules as a hash from a (left id, right id) pair to the merge's rank and result, as HF
/// `merges` lists and GGUF `tokenizer.ggml.merges` define them. Open addressing over packed keys,
/// in raw memory owned by a class so the merge loops read it without reference counting.
struct PairMergeTable: Sendable {
    final class Storage: @unchecked Sendable {
        /// [capacity] packed `left << 32 | right`, `UInt64.max` when empty.
        let keys: UnsafeMutablePointer<UInt64>
        /// [capacity] rank of the merge (its line in the merges list) and the id it produces.
        let ranks: UnsafeMutablePointer<UInt32>
        let results: UnsafeMutablePointer<Int32>
        let mask: Int

        init(capacity: Int) {
            keys = .allocate(capacity: capacity)
            keys.initialize(repeating: .max, count: capacity)
            ranks = .allocate(capacity: capacity)
            results = .allocate(capacity: capacity)
            mask = capacity - 1
        }

        deinit { keys.deallocate(); ranks.deallocate(); results.deallocate() }
    }

    /// The table's raw pointers, for the merge loops (valid while the table lives).
    struct Raw {
        let keys: UnsafeMutablePointer<UInt64>
        let ranks: UnsafeMutablePointer<UInt32>
        let results: UnsafeMutablePointer<Int32>
        let mask: Int

        /// The merge of `left` followed by `right`: its rank (UInt32.max: none) and result.
        @inline(__always)
        func merge(_ left: Int32, _ right: Int32) -> (rank: UInt32, id: Int32) {
            let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
            var slot = PairMergeTable.slot(key) & mask
            while true {
                let k = keys[slot]
                if k == key { return (ranks[slot], results[slot]) }
                if k == .max { return (.max, -1) }
                slot = (slot &+ 1) & mask
            }
        }
    }

    let storage: Storage
    var raw: Raw { Raw(keys: storage.keys, ranks: storage.ranks, results: storage.results, mask: storage.mask) }

    init(merges: [(left: Int32, right: Int32, result: Int32)]) {
        var capacity = 16
        while capacity < merges.count * 2 { capacity <<= 1 }
        storage = Storage(capacity: capacity)
        let s = storage
        for (rank, m) in merges.enumerated() {
            let key = UInt64(UInt32(bitPattern: m.left)) << 32 | UInt64(UInt32(bitPattern: m.right))
            var slot = Self.slot(key) & s.mask
            while s.keys[slot] != .max && s.keys[slot] != key { slot = (slot + 1) & s.mask }
            if s.keys[slot] == key { continue }  // a repeated merge keeps its first (lowest) rank
            s.keys[slot] = key
            s.ranks[slot] = UInt32(rank)
            s.results[slot] = m.result
        }
    }

    @inline(__always)
    static func slot(_ key: UInt64) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        return Int(truncatingIfNeeded: h)
    }
}
