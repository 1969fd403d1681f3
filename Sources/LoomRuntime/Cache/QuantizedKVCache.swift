import LoomCore
import LoomKernels
import LoomModel

/// How many bits a quantized cache spends per element of K or V.
public enum CacheBits: Int, Sendable {
    case eight = 8
    case four = 4

    /// Bytes of one group of 32: an fp16 scale, then the codes.
    var groupBytes: Int { self == .eight ? 2 + 32 : 2 + 16 }
    /// The largest code magnitude (symmetric: −max...max).
    var maxCode: Float { self == .eight ? 127 : 7 }
}

/// One layer's keys and values quantized in groups of 32, as ExLlamaV2's Q8/Q6/Q4 caches are:
/// each group is rotated by a 32-point Hadamard transform, then quantized symmetrically by its
/// absolute maximum with an fp16 scale. Q6 is 8-bit keys with 4-bit values.
public final class QuantizedKVCacheLayer: KVCacheLayer, @unchecked Sendable {
    public let headDim: Int
    public let keyBits: CacheBits
    public let valueBits: CacheBits
    /// Keys and values have rows of different sizes when their bits differ (q6).
    private let keyLayout: PagedLayout
    private let valueLayout: PagedLayout
    private let keys: ArenaBuffer<UInt8>     // [pages, kvHeads, pageTokens, headDim / 32 groups]
    private let values: ArenaBuffer<UInt8>   // [pages, kvHeads, pageTokens, headDim / 32 groups]

    public var pageTokens: Int { keyLayout.pageTokens }
    public var pageCount: Int { keyLayout.pageCount }

    /// The bits of keys and values for a quantized cache type.
    public static func bits(for type: CacheType) -> (key: CacheBits, value: CacheBits)? {
        switch type {
        case .q8: return (.eight, .eight)
        case .q6: return (.eight, .four)
        case .q4: return (.four, .four)
        case .f32, .fp16: return nil
        }
    }

    public init(kvHeads: Int, headDim: Int, pageTokens: Int, pageCount: Int, keyBits: CacheBits, valueBits: CacheBits,
                arena: MemoryArena) throws {
        precondition(headDim % 32 == 0, "quantized caches need head_dim to be a multiple of 32")
        self.headDim = headDim
        self.keyBits = keyBits
        self.valueBits = valueBits
        keyLayout = PagedLayout(pageTokens: pageTokens, pageCount: pageCount, kvHeads: kvHeads,
                                rowBytes: headDim / 32 * keyBits.groupBytes)
        valueLayout = PagedLayout(pageTokens: pageTokens, pageCount: pageCount, kvHeads: kvHeads,
                                  rowBytes: headDim / 32 * valueBits.groupBytes)
        keys = try arena.allocate(UInt8.self, count: keyLayout.planeBytes, label: "cache")
        values = try arena.allocate(UInt8.self, count: valueLayout.planeBytes, label: "cache")
    }

    public func store(keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, slots: UnsafePointer<Int32>, count: Int) {
        let keyBase = UnsafeMutableRawPointer(keys.pointer), valueBase = UnsafeMutableRawPointer(values.pointer)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { group in
            for t in 0..<count {
                for h in 0..<keyLayout.kvHeads {
                    let source = (t * keyLayout.kvHeads + h) * headDim
                    for (input, out, bits) in [(k + source, keyBase + keyLayout.offset(slot: slots[t], head: h), keyBits),
                                               (v + source, valueBase + valueLayout.offset(slot: slots[t], head: h), valueBits)] {
                        for g in 0..<(headDim / 32) {
                            group.baseAddress!.update(from: input + g * 32, count: 32)
                            hadamard32(group.baseAddress!)
                            Self.quantize(group.baseAddress!, bits: bits, into: out + g * bits.groupBytes)
                        }
                    }
                }
            }
        }
    }

    public func copyPage(_ source: Int, to destination: Int, positions: Int) {
        keyLayout.copy(UnsafeMutableRawPointer(keys.pointer), page: source, to: destination, positions: positions)
        valueLayout.copy(UnsafeMutableRawPointer(values.pointer), page: source, to: destination, positions: positions)
    }

    /// Absmax quantization of 32 values into one group: fp16 scale, then codes (int8, or
    /// nibbles offset by 8 with element i in the low half of byte i % 16 for i < 16).
    static func quantize(_ x: UnsafePointer<Float>, bits: CacheBits, into group: UnsafeMutableRawPointer) {
        var absMax: Float = 0
        for i in 0..<32 { absMax = max(absMax, abs(x[i])) }
        let scaleBits = floatToF16(absMax / bits.maxCode)
        let scale = f16ToFloat(scaleBits)
        let inverse: Float = scale > 0 ? 1 / scale : 0
        group.storeBytes(of: scaleBits, as: UInt16.self)
        let codes = group + 2
        if bits == .eight {
            for i in 0..<32 {
                let q = max(-127, min(127, (x[i] * inverse).rounded()))
                codes.storeBytes(of: Int8(q), toByteOffset: i, as: Int8.self)
            }
        } else {
            for i in 0..<16 {
                let lo = UInt8(max(-7, min(7, (x[i] * inverse).rounded())) + 8)
                let hi = UInt8(max(-7, min(7, (x[i + 16] * inverse).rounded())) + 8)
                codes.storeBytes(of: lo | hi << 4, toByteOffset: i, as: UInt8.self)
            }
        }
    }

    /// Widens `groups` consecutive groups to f32 (still in the rotated basis).
    static func dequantize(_ source: UnsafeRawPointer, bits: CacheBits, groups: Int, into out: UnsafeMutablePointer<Float>) {
        for g in 0..<groups {
            let group = source + g * bits.groupBytes, o = out + 32 * g
            let scale = f16ToFloat(group.loadUnaligned(as: UInt16.self))
            let codes = group + 2
            if bits == .eight {
                for i in 0..<32 { o[i] = scale * Float(codes.load(fromByteOffset: i, as: Int8.self)) }
            } else {
                for i in 0..<16 {
                    let byte = codes.load(fromByteOffset: i, as: UInt8.self)
                    o[i] = scale * Float(Int(byte & 0xF) - 8)
                    o[i + 16] = scale * Float(Int(byte >> 4) - 8)
                }
            }
        }
    }

    /// Σ q[i]·x[i] over one group, where x is the group's dequantized (still rotated) values.
    @inline(__always)
    static func dot(_ q: UnsafePointer<Float>, group: UnsafeRawPointer, bits: CacheBits) -> Float {
        let scale = f16ToFloat(group.loadUnaligned(as: UInt16.self))
        let codes = group + 2
        var sum: Float = 0
        if bits == .eight {
            for i in 0..<32 { sum += q[i] * Float(codes.load(fromByteOffset: i, as: Int8.self)) }
        } else {
            for i in 0..<16 {
                let byte = codes.load(fromByteOffset: i, as: UInt8.self)
                sum += q[i] * Float(Int(byte & 0xF) - 8) + q[i + 16] * Float(Int(byte >> 4) - 8)
            }
        }
        return sum * scale
    }

    /// out[i] += weight · x[i] over one group.
    @inline(__always)
    static func accumulate(_ out: UnsafeMutablePointer<Float>, weight: Float, group: UnsafeRawPointer, bits: CacheBits) {
        let w = weight * f16ToFloat(group.loadUnaligned(as: UInt16.self))
        let codes = group + 2
        if bits == .eight {
            for i in 0..<32 { out[i] += w * Float(codes.load(fromByteOffset: i, as: Int8.self)) }
        } else {
            for i in 0..<16 {
                let byte = codes.load(fromByteOffset: i, as: UInt8.self)
                out[i] += w * Float(Int(byte & 0xF) - 8)
                out[i + 16] += w * Float(Int(byte >> 4) - 8)
            }
        }
    }

    public func attend(queries: UnsafePointer<Float>, spans: [AttentionSpan], pageTables: UnsafePointer<Int32>, heads: Int,
                       scale: Float, softcap: Float?, window: Int?, sinks: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>,
                       scores: UnsafeMutableBufferPointer<Float>, pool: ThreadPool) {
        let groups = headDim / 32
        let stride = scores.count / pool.threadCount
        let keyBase = UnsafeRawPointer(keys.pointer), valueBase = UnsafeRawPointer(values.pointer)
        let keyLayout = keyLayout, valueLayout = valueLayout, keyBits = keyBits, valueBits = valueBits
        if let blocked = BlockedAttention(heads: heads, kvHeads: keyLayout.kvHeads, headDim: headDim, workspaceStride: stride) {
            blocked.run(queries: queries, spans: spans, scale: scale, softcap: softcap, window: window, sinks: sinks, out: out,
                        workspace: scores.baseAddress!, workspaceStride: stride, rotated: true, pool: pool) { span, head, first, n, isKeys, into in
                let (base, layout, bits) = isKeys ? (keyBase, keyLayout, keyBits) : (valueBase, valueLayout, valueBits)
                layout.forEachRun(pageTables + spans[span].pageTableOffset, first: first, count: n) { page, offset, count, done in
                    Self.dequantize(base + layout.offset(page: page, head: head, position: offset), bits: bits,
                                    groups: count * groups, into: into + done * 32 * groups)
                }
            }
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: pool.threadCount * headDim) { rotatedRows in
            forEachPagedAttentionTask(spans: spans, heads: heads, kvHeads: keyLayout.kvHeads, window: window, pool: pool) { task in
                let table = pageTables + spans[task.span].pageTableOffset
                func row(_ base: UnsafeRawPointer, _ layout: PagedLayout, _ position: Int) -> UnsafeRawPointer {
                    base + layout.offset(page: Int(table[position / layout.pageTokens]), head: task.kvHead,
                                         position: position % layout.pageTokens)
                }
                let q = rotatedRows.baseAddress! + task.worker * headDim
                let s = scores.baseAddress! + task.worker * stride
                // Rotate the query into the cache's basis once; keys stay rotated.
                q.update(from: queries + task.index * headDim, count: headDim)
                for g in 0..<groups { hadamard32(q + g * 32) }
                var maximum = -Float.infinity
                for i in 0..<task.length {
                    let k = row(keyBase, keyLayout, task.first + i)
                    var dot: Float = 0
                    for g in 0..<groups { dot += Self.dot(q + g * 32, group: k + g * keyBits.groupBytes, bits: keyBits) }
                    s[i] = dot * scale
                    maximum = max(maximum, s[i])
                }
                if let cap = softcap {
                    LoomKernels.softcap(s, count: task.length, cap: cap)
                    maximum = -Float.infinity
                    for i in 0..<task.length { maximum = max(maximum, s[i]) }
                }
                let sink = sinks.map { $0[task.index % heads] }
                if let sink { maximum = max(maximum, sink) }
                var sum: Float = sink.map { expf($0 - maximum) } ?? 0
                for i in 0..<task.length { s[i] = expf(s[i] - maximum); sum += s[i] }
                let o = out + task.index * headDim
                o.update(repeating: 0, count: headDim)
                let inverse = 1 / sum
                for i in 0..<task.length {
                    let v = row(valueBase, valueLayout, task.first + i)
                    for g in 0..<groups {
                        Self.accumulate(o + g * 32, weight: s[i] * inverse, group: v + g * valueBits.groupBytes, bits: valueBits)
                    }
                }
                // Back from the rotated basis: the transform is its own inverse.
                for g in 0..<groups { hadamard32(o + g * 32) }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
