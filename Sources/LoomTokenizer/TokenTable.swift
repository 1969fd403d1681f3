/// Byte strings by id, with a hash index from bytes to id.
///
/// All strings live in one buffer; the index is open addressing over `id + 1` (0 = empty), so a
/// lookup hashes the bytes once and compares a few candidates. The buffers are raw pointers
/// owned by a class, so lookups in the merge loops cost no reference counting.
struct TokenTable: Sendable {
    final class Storage: @unchecked Sendable {
        /// [total bytes] all strings, concatenated in id order.
        let bytes: UnsafeMutablePointer<UInt8>
        /// [count + 1] start of each string in `bytes`.
        let offsets: UnsafeMutablePointer<UInt32>
        /// [capacity] id + 1 of the string hashed to each slot, 0 when empty.
        let slots: UnsafeMutablePointer<UInt32>
        let count: Int
        let mask: Int
        /// [256] the id of each single byte, -1 when it is no token.
        let byteIds: UnsafeMutablePointer<Int32>
        /// [65536] the id of each two-byte string (first byte high), -1 when it is no token:
        /// the first round of byte-level merges looks these up without hashing.
        let pairIds: UnsafeMutablePointer<Int32>

        init(strings: [[UInt8]]) {
            count = strings.count
            let total = strings.reduce(0) { $0 + $1.count }
            let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(total, 1))
            let offsets = UnsafeMutablePointer<UInt32>.allocate(capacity: count + 1)
            var at = 0
            for (i, s) in strings.enumerated() {
                offsets[i] = UInt32(at)
                for b in s { bytes[at] = b; at += 1 }
            }
            self.bytes = bytes
            self.offsets = offsets
            offsets[count] = UInt32(at)
            var capacity = 16
            while capacity < count * 2 { capacity <<= 1 }
            mask = capacity - 1
            slots = .allocate(capacity: capacity)
            slots.initialize(repeating: 0, count: capacity)
            byteIds = .allocate(capacity: 256)
            byteIds.initialize(repeating: -1, count: 256)
            pairIds = .allocate(capacity: 65536)
            pairIds.initialize(repeating: -1, count: 65536)
            for id in 0..<count {
                let start = Int(offsets[id]), length = Int(offsets[id + 1]) - start
                if length == 0 || find(bytes + start, length) != nil { continue }
                var slot = TokenTable.hash(bytes + start, length) & mask
                while slots[slot] != 0 { slot = (slot + 1) & mask }
                slots[slot] = UInt32(id + 1)
                if length == 1 { byteIds[Int(bytes[start])] = Int32(id) }
                if length == 2 { pairIds[Int(bytes[start]) << 8 | Int(bytes[start + 1])] = Int32(id) }
            }
        }

        deinit {
            bytes.deallocate(); offsets.deallocate(); slots.deallocate(); byteIds.deallocate(); pairIds.deallocate()
        }

        @inline(__always)
        func find(_ p: UnsafePointer<UInt8>, _ length: Int) -> Int32? {
            Raw(bytes: bytes, offsets: offsets, slots: slots, mask: mask, pairIds: pairIds).find(p, length)
        }
    }

    let storage: Storage

    /// The table's raw pointers, for the merge loops (valid while the table lives).
    struct Raw {
        let bytes: UnsafeMutablePointer<UInt8>
        let offsets: UnsafeMutablePointer<UInt32>
        let slots: UnsafeMutablePointer<UInt32>
        let mask: Int
        let pairIds: UnsafeMutablePointer<Int32>

        @inline(__always)
        func find(_ p: UnsafePointer<UInt8>, _ length: Int) -> Int32? {
            if length == 2 {
                let id = pairIds[Int(p[0]) << 8 | Int(p[1])]
                return id >= 0 ? id : nil
            }
            var slot = TokenTable.hash(p, length) & mask
            while true {
                let entry = slots[slot]
                if entry == 0 { return nil }
                let id = Int(entry &- 1)
                let start = Int(offsets[id])
                if Int(offsets[id + 1]) &- start == length && TokenTable.equal(bytes + start, p, length) {
                    return Int32(truncatingIfNeeded: id)
                }
                slot = (slot &+ 1) & mask
            }
        }
    }

    var raw: Raw {
        Raw(bytes: storage.bytes, offsets: storage.offsets, slots: storage.slots, mask: storage.mask, pairIds: storage.pairIds)
    }

    /// Builds the table; `strings[i]` is the byte string of id `i`. Empty strings are stored
    /// but not indexed. When two ids share bytes the lower id wins the lookup.
    init(strings: [[UInt8]]) { storage = Storage(strings: strings) }

    var count: Int { storage.count }

    /// The bytes of id `i`.
    func bytes(_ id: Int) -> [UInt8] {
        let s = storage
        return Array(UnsafeBufferPointer(start: s.bytes + Int(s.offsets[id]), count: Int(s.offsets[id + 1] &- s.offsets[id])))
    }

    /// The id whose bytes are `p[0..<length]`, or nil.
    @inline(__always)
    func id(_ p: UnsafePointer<UInt8>, _ length: Int) -> Int32? { storage.find(p, length) }

    @inline(__always)
    static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i &+ 8 <= n {
            if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) { return false }
            i &+= 8
        }
        while i < n {
            if a[i] != b[i] { return false }
            i &+= 1
        }
        return true
    }

    /// A fast hash of a short byte string: 8 bytes at a time, multiply-xorshift mixing; the
    /// tail is read as 4-, 2- and 1-byte loads so nothing past the string is touched.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ length: Int) -> Int {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = UInt64(truncatingIfNeeded: length) &* k
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i &+ 8 <= length {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* k
            h ^= h >> 29
            i &+= 8
        }
        if i < length {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            if length &- i >= 4 {
                w = UInt64(raw.loadUnaligned(fromByteOffset: i, as: UInt32.self)); shift = 32; i &+= 4
            }
            if length &- i >= 2 {
                w |= UInt64(raw.loadUnaligned(fromByteOffset: i, as: UInt16.self)) << shift; shift &+= 16; i &+= 2
            }
            if i < length { w |= UInt64(p[i]) << shift }
            h = (h ^ w) &* k
            h ^= h >> 29
        }
        h = (h ^ (h >> 32)) &* k
        return Int(truncatingIfNeeded: h >> 16)
    }
}
