import Foundation
import Testing
import LoomCore
import LoomKernels
import LoomModel
import LoomRuntime

@Suite struct QuantizedCacheTests {
    /// Deterministic values in roughly [-1, 1], with a few outliers like real keys have.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed | 1
        return (0..<count).map { i in
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            let unit = Float((state &* 0x2545_F491_4F6C_DD1D) >> 40) / Float(1 << 24) * 2 - 1
            return i % 61 == 0 ? unit * 8 : unit
        }
    }

    @Test func hadamardIsOrthonormalAndItsOwnInverse() {
        var x = Self.values(32, seed: 3)
        let original = x
        let norm = original.reduce(0) { $0 + $1 * $1 }
        x.withUnsafeMutableBufferPointer { hadamard32($0.baseAddress!) }
        #expect(abs(x.reduce(0) { $0 + $1 * $1 } - norm) < 1e-4 * norm)
        x.withUnsafeMutableBufferPointer { hadamard32($0.baseAddress!) }
        for i in 0..<32 { #expect(abs(x[i] - original[i]) < 1e-5) }
    }

    /// A cache layer of `type` holding `pageCount` pages of `pageTokens`.
    static func layer(_ type: CacheType, kvHeads: Int, headDim: Int, pageTokens: Int, pageCount: Int,
                      arena: MemoryArena) throws -> any KVCacheLayer {
        switch type {
        case .f32: return try DenseKVCacheLayer<F32Element>(kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens, pageCount: pageCount, arena: arena)
        case .fp16: return try DenseKVCacheLayer<F16Element>(kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens, pageCount: pageCount, arena: arena)
        default:
            let bits = QuantizedKVCacheLayer.bits(for: type)!
            return try QuantizedKVCacheLayer(kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens, pageCount: pageCount,
                                             keyBits: bits.key, valueBits: bits.value, arena: arena)
        }
    }

    /// Stores `length` positions of one sequence into `layer` through `table` (page ids in
    /// position order) and runs causal attention for all of them.
    static func attend(_ layer: any KVCacheLayer, table: [Int32], length: Int, kvHeads: Int, heads: Int, headDim: Int,
                       window: Int? = nil, softcap: Float? = nil, sinks: [Float]? = nil, threads: Int = 2) -> [Float] {
        let pool = ThreadPool(threads: threads)
        let k = values(length * kvHeads * headDim, seed: 11)
        let v = values(length * kvHeads * headDim, seed: 12)
        let q = values(length * heads * headDim, seed: 13)
        let pageTokens = layer.pageTokens
        let slots: [Int32] = (0..<length).map { (p: Int) -> Int32 in table[p / pageTokens] * Int32(pageTokens) + Int32(p % pageTokens) }
        var out = [Float](repeating: 0, count: q.count)
        var scores = [Float](repeating: 0, count: threads * BlockedAttention.workerScratchFloats(capacity: length, heads: heads, kvHeads: kvHeads,
                                                                                                 headDim: headDim, maxTokens: length))
        layer.store(keys: k, values: v, slots: slots, count: length)
        scores.withUnsafeMutableBufferPointer { scores in
            layer.attend(queries: q, spans: [AttentionSpan(row: 0, count: length, start: 0)], pageTables: table, heads: heads,
                         scale: 0.125, softcap: softcap, window: window, sinks: sinks, into: &out, scores: scores, pool: pool)
        }
        return out
    }

    /// Soft-capped attention (Gemma 2: scores become cap · tanh(score / cap)) over an f32 cache,
    /// on the tile kernels (head size 64) and per head (8), with and without a window, against
    /// the same arithmetic in Double; a cap this small changes the result.
    @Test func softcappedAttentionMatchesDouble() throws {
        let (kvHeads, heads, length, cap) = (2, 4, 37, Float(1.5))
        let k = Self.values(length * kvHeads * 64, seed: 11), v = Self.values(length * kvHeads * 64, seed: 12)
        let q = Self.values(length * heads * 64, seed: 13)
        for (headDim, window) in [(64, nil), (64, 9), (8, nil), (8, 5)] as [(Int, Int?)] {
            let layer = try Self.layer(.f32, kvHeads: kvHeads, headDim: headDim, pageTokens: 16, pageCount: 3, arena: MemoryArena(name: "test"))
            let capped = Self.attend(layer, table: [2, 0, 1], length: length, kvHeads: kvHeads, heads: heads, headDim: headDim,
                                     window: window, softcap: cap)
            let plain = Self.attend(layer, table: [2, 0, 1], length: length, kvHeads: kvHeads, heads: heads, headDim: headDim, window: window)
            var worst = 0.0, changed = 0.0
            for t in 0..<length {
                for h in 0..<heads {
                    let kv = h / (heads / kvHeads), low = window.map { max(0, t - $0 + 1) } ?? 0
                    let query = (0..<headDim).map { Double(q[(t * heads + h) * headDim + $0]) }
                    let scores = (low...t).map { p -> Double in
                        let dot = (0..<headDim).reduce(0.0) { $0 + query[$1] * Double(k[(p * kvHeads + kv) * headDim + $1]) } * 0.125
                        return Double(cap) * Foundation.tanh(dot / Double(cap))
                    }
                    let top = scores.max()!, weights = scores.map { Foundation.exp($0 - top) }, total = weights.reduce(0, +)
                    for c in 0..<headDim {
                        let expected = zip(low...t, weights).reduce(0.0) { $0 + $1.1 * Double(v[($1.0 * kvHeads + kv) * headDim + c]) } / total
                        let index = (t * heads + h) * headDim + c
                        worst = max(worst, abs(Double(capped[index]) - expected))
                        changed = max(changed, abs(Double(plain[index]) - expected))
                    }
                }
            }
            #expect(worst < 2e-5, "head size \(headDim), window \(String(describing: window)): \(worst)")
            #expect(changed > 1e-2, "the cap does not change attention here")
        }
    }

    /// Attention with a sink per head (gpt-oss: a logit that joins each softmax without a value)
    /// over f32 and q8 caches, on the tile kernels (head size 64) and per head (8), with and
    /// without a window, against the same arithmetic in Double; sinks this large change the result.
    @Test func attentionSinksMatchDouble() throws {
        let (kvHeads, heads, length) = (2, 4, 37)
        let sinks: [Float] = [1.5, -0.5, 3.0, 0.25]
        for (type, headDim, window) in [(.f32, 64, nil), (.f32, 64, 9), (.f32, 8, nil), (.f32, 8, 5), (.q8, 64, 9)] as [(CacheType, Int, Int?)] {
            let k = Self.values(length * kvHeads * headDim, seed: 11), v = Self.values(length * kvHeads * headDim, seed: 12)
            let q = Self.values(length * heads * headDim, seed: 13)
            let layer = try Self.layer(type, kvHeads: kvHeads, headDim: headDim, pageTokens: 16, pageCount: 3, arena: MemoryArena(name: "test"))
            let sunk = Self.attend(layer, table: [2, 0, 1], length: length, kvHeads: kvHeads, heads: heads, headDim: headDim,
                                   window: window, sinks: sinks)
            let plain = Self.attend(layer, table: [2, 0, 1], length: length, kvHeads: kvHeads, heads: heads, headDim: headDim, window: window)
            var worst = 0.0, changed = 0.0, scale = 0.0
            for t in 0..<length {
                for h in 0..<heads {
                    let kv = h / (heads / kvHeads), low = window.map { max(0, t - $0 + 1) } ?? 0
                    let query = (0..<headDim).map { Double(q[(t * heads + h) * headDim + $0]) }
                    let scores = (low...t).map { p -> Double in
                        (0..<headDim).reduce(0.0) { $0 + query[$1] * Double(k[(p * kvHeads + kv) * headDim + $1]) } * 0.125
                    }
                    let top = max(scores.max()!, Double(sinks[h])), weights = scores.map { Foundation.exp($0 - top) }
                    let total = weights.reduce(0, +) + Foundation.exp(Double(sinks[h]) - top)
                    for c in 0..<headDim {
                        let expected = zip(low...t, weights).reduce(0.0) { $0 + $1.1 * Double(v[($1.0 * kvHeads + kv) * headDim + c]) } / total
                        let index = (t * heads + h) * headDim + c
                        worst = max(worst, abs(Double(sunk[index]) - expected))
                        changed = max(changed, abs(Double(plain[index]) - expected))
                        scale = max(scale, abs(expected))
                    }
                }
            }
            let tolerance = type == .f32 ? 2e-5 : 2e-2
            #expect(worst < tolerance * max(1, scale), "\(type), head size \(headDim), window \(String(describing: window)): \(worst)")
            #expect(changed > 0.1 * scale, "the sinks do not change attention here")
        }
    }

    /// Attention over a quantized cache against the same attention over an exact f32 cache.
    func attentionError(_ type: CacheType, length: Int = 40) throws -> Float {
        let (kvHeads, heads, headDim) = (2, 4, 64)
        let arena = MemoryArena(name: "test")
        let exact = try Self.layer(.f32, kvHeads: kvHeads, headDim: headDim, pageTokens: length, pageCount: 1, arena: arena)
        let quantized = try Self.layer(type, kvHeads: kvHeads, headDim: headDim, pageTokens: length, pageCount: 1, arena: arena)
        let outExact = Self.attend(exact, table: [0], length: length, kvHeads: kvHeads, heads: heads, headDim: headDim)
        let outQuant = Self.attend(quantized, table: [0], length: length, kvHeads: kvHeads, heads: heads, headDim: headDim)
        var worst: Float = 0, scale: Float = 0
        for i in outExact.indices { worst = max(worst, abs(outExact[i] - outQuant[i])); scale = max(scale, abs(outExact[i])) }
        return worst / scale
    }

    /// Attention read through a page table of small, shuffled pages equals attention over one
    /// contiguous page, bit for bit, for every cache type, with and without a sliding window,
    /// and for head sizes the tile kernels take (64) and do not (8, per-head attention).
    @Test(arguments: CacheType.allCases)
    func pagedAttentionEqualsContiguousAttention(_ type: CacheType) throws {
        for (headDim, window) in [(64, nil), (64, 50), (8, nil), (8, 7)] as [(Int, Int?)] {
            if type != .f32 && type != .fp16 && headDim % 32 != 0 { continue }
            let (kvHeads, heads, length, pageTokens) = (2, 4, 150, 16)
            let pageCount = (length + pageTokens - 1) / pageTokens
            let arena = MemoryArena(name: "test")
            let contiguous = try Self.layer(type, kvHeads: kvHeads, headDim: headDim, pageTokens: length, pageCount: 1, arena: arena)
            let paged = try Self.layer(type, kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens, pageCount: pageCount + 3, arena: arena)
            // Pages out of order, and not starting at 0.
            let table = (0..<pageCount).map { Int32((($0 * 7) + 3) % (pageCount + 3)) }
            #expect(Set(table).count == pageCount)
            let a = Self.attend(contiguous, table: [0], length: length, kvHeads: kvHeads, heads: heads, headDim: headDim, window: window)
            let b = Self.attend(paged, table: table, length: length, kvHeads: kvHeads, heads: heads, headDim: headDim, window: window)
            #expect(a.map { $0.bitPattern } == b.map { $0.bitPattern }, "\(type) head_dim \(headDim) window \(String(describing: window))")
        }
    }

    @Test func quantizedAttentionTracksExactAttention() throws {
        let q8 = try attentionError(.q8), q6 = try attentionError(.q6), q4 = try attentionError(.q4)
        // Per-element code error is at most half a step: 1/254 of a group's range for 8 bits,
        // 1/14 for 4 bits; averaging over positions shrinks it further.
        #expect(q8 < 0.01, "q8 \(q8)")
        #expect(q6 < 0.1 && q6 > q8, "q6 \(q6)")
        #expect(q4 < 0.1 && q4 > q8, "q4 \(q4)")
        print("attention error, max|Δ|/max|exact|: q8 \(q8), q6 \(q6), q4 \(q4)")
    }

    @Test(arguments: [CacheType.q8, .q6, .q4])
    func cacheBytesMatchThePlannerFormula(_ type: CacheType) throws {
        let arena = MemoryArena(name: "test")
        let bits = try #require(QuantizedKVCacheLayer.bits(for: type))
        let layer = try QuantizedKVCacheLayer(kvHeads: 8, headDim: 128, pageTokens: 4, pageCount: 25, keyBits: bits.key,
                                              valueBits: bits.value, arena: arena)
        #expect(arena.inUse == type.bytesPerTokenPerLayer(kvWidth: 8 * 128) * 100)
        _ = layer
    }
}
