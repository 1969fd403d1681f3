/// Byte strings by id, with a hash index from bytes to id.
///
/// All strings live in one buffer; the index is open addressing over `id + 1` (0 = empty), so a
/// lookup hashes the bytes once and compares at most a few candidates with `memcmp`.
struct TokenTable: @unchecked Sendable {
    /// [total bytes] all strings, concatenated in id order.
    private(set) var storage: [UInt8]
    /// [count + 1] start of each string in `storage`; string `i` is `offsets[i]..<offsets[i+1]`.
    private(set) var offsets: [UInt32]
    /// [capacity] id + 1 of the string hashed to each slot, 0 when empty; capacity is a power of 2.
    private var slots: [UInt32]
    private var mask: Int

    var count: Int { offsets.count - 1 }

    /// Builds the table; `strings[i]` is the byte string of id `i`. Empty strings are stored
    /// (for decoding) but not indexed. When two ids share bytes the lower id wins the lookup.
    init(strings: [[UInt8]]) {
        var storage: [UInt8] = []
        storage.reserveCapacity(strings.reduce(0) { $0 + $1.count })
        var offsets: [UInt32] = [0]
        offsets.reserveCapacity(strings.count + 1)
        for s in strings {
            storage.append(contentsOf: s)
            offsets.append(UInt32(storage.count))
        }
        self.init(storage: storage, offsets: offsets)
    }

    init(storage: [UInt8], offsets: [UInt32]) {
        self.storage = storage
        self.offsets = offsets
        var capacity = 16
        while capacity < offsets.count * 2 { capacity <<= 1 }
        slots = [UInt32](repeating: 0, count: capacity)
        mask = capacity - 1
        storage.withUnsafeBufferPointer { bytes in
            for id in 0..<(offsets.count - 1) {
                let start = Int(offsets[id]), length = Int(offsets[id + 1]) - start
                if length == 0 { continue }
                let p = bytes.baseAddress! + start
                if find(p, length, in: bytes) != nil { continue }
                var slot = Self.hash(p, length) & mask
                while slots[slot] != 0 { slot = (slot + 1) & mask }
                slots[slot] = UInt32(id + 1)
            }
        }
    }

    /// The bytes of id `i`.
    @inline(__always)
    func bytes(_ id: Int) -> ArraySlice<UInt8> { storage[Int(offsets[id])..<Int(offsets[id + 1])] }

    @inline(__always)
    func length(_ id: Int) -> Int { Int(offsets[id + 1] &- offsets[id]) }

    /// The id whose bytes are `p[0..<length]`, or nil.
    @inline(__always)
    func id(_ p: UnsafePointer<UInt8>, _ length: Int) -> Int32? {
        storage.withUnsafeBufferPointer { find(p, length, in: $0) }
    }

    @inline(__always)
    private func find(_ p: UnsafePointer<UInt8>, _ length: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        var slot = Self.hash(p, length) & mask
        return slots.withUnsafeBufferPointer { slots in
            offsets.withUnsafeBufferPointer { offsets in
                while true {
                    let entry = slots[slot]
                    if entry == 0 { return nil }
                    let id = Int(entry - 1)
                    let start = Int(offsets[id])
                    if Int(offsets[id + 1]) - start == length && memcmp(bytes.baseAddress! + start, p, length) == 0 {
                        return Int32(id)
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    /// A fast hash of a short byte string: 8 bytes at a time, multiply-rotate mixing.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ length: Int) -> Int {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = UInt64(truncatingIfNeeded: length) &* k
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= length {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* k
            h ^= h >> 29
            i += 8
        }
        if i < length {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < length { w |= UInt64(p[i]) << shift; shift += 8; i += 1 }
            h = (h ^ w) &* k
            h ^= h >> 29
        }
        h = (h ^ (h >> 32)) &* k
        return Int(truncatingIfNeeded: h >> 16)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
