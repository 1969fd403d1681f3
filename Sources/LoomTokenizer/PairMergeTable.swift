/// Merge rules as a hash from a (left id, right id) pair to the merge's rank and result, as HF
/// `merges` lists and GGUF `tokenizer.ggml.merges` define them. Open addressing over packed keys.
struct PairMergeTable: Sendable {
    /// [capacity] packed `left << 32 | right`, `UInt64.max` when empty.
    private var keys: [UInt64]
    /// [capacity] rank of the merge (its line in the merges list) and the id it produces.
    private var values: [(rank: UInt32, id: Int32)]
    private var mask: Int

    init(merges: [(left: Int32, right: Int32, result: Int32)]) {
        var capacity = 16
        while capacity < merges.count * 2 { capacity <<= 1 }
        keys = [UInt64](repeating: .max, count: capacity)
        values = [(UInt32, Int32)](repeating: (0, 0), count: capacity)
        mask = capacity - 1
        for (rank, m) in merges.enumerated() {
            let key = UInt64(UInt32(bitPattern: m.left)) << 32 | UInt64(UInt32(bitPattern: m.right))
            var slot = Self.slot(key) & mask
            while keys[slot] != .max && keys[slot] != key { slot = (slot + 1) & mask }
            if keys[slot] == key { continue }  // a repeated merge keeps its first (lowest) rank
            keys[slot] = key
            values[slot] = (UInt32(rank), m.result)
        }
    }

    @inline(__always)
    private static func slot(_ key: UInt64) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        return Int(truncatingIfNeeded: h)
    }

    /// The merge of `left` followed by `right`, if there is one.
    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> (rank: UInt32, id: Int32)? {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var slot = Self.slot(key) & mask
        return keys.withUnsafeBufferPointer { keys in
            while true {
                let k = keys[slot]
                if k == key { return values[slot] }
                if k == .max { return nil }
                slot = (slot + 1) & mask
            }
        }
    }
}
