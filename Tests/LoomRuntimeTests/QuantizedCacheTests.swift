import Testing
import LoomCore
import LoomKernels
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

    /// Attention over a quantized cache against the same attention over an exact f32 cache.
    func attentionError(_ type: CacheType, length: Int = 40) throws -> Float {
        let (kvHeads, heads, headDim) = (2, 4, 64)
        let arena = MemoryArena(name: "test")
        let pool = ThreadPool(threads: 2)
        let exact = try DenseKVCacheLayer<F32Element>(kvHeads: kvHeads, headDim: headDim, capacity: length, arena: arena)
        let bits = try #require(QuantizedKVCacheLayer.bits(for: type))
        let quantized = try QuantizedKVCacheLayer(kvHeads: kvHeads, headDim: headDim, capacity: length,
                                                  keyBits: bits.key, valueBits: bits.value, arena: arena)
        let k = Self.values(length * kvHeads * headDim, seed: 11)
        let v = Self.values(length * kvHeads * headDim, seed: 12)
        let q = Self.values(length * heads * headDim, seed: 13)
        var outExact = [Float](repeating: 0, count: q.count), outQuant = outExact
        var scores = [Float](repeating: 0, count: 2 * BlockedAttention.workerScratchFloats(capacity: length, heads: heads, kvHeads: kvHeads, headDim: headDim,
                                                                                           maxTokens: length))
        exact.store(keys: k, values: v, start: 0, count: length)
        quantized.store(keys: k, values: v, start: 0, count: length)
        scores.withUnsafeMutableBufferPointer { scores in
            exact.attend(queries: q, start: 0, count: length, heads: heads, scale: 0.125, window: nil, into: &outExact, scores: scores, pool: pool)
            quantized.attend(queries: q, start: 0, count: length, heads: heads, scale: 0.125, window: nil, into: &outQuant, scores: scores, pool: pool)
        }
        var worst: Float = 0, scale: Float = 0
        for i in q.indices { worst = max(worst, abs(outExact[i] - outQuant[i])); scale = max(scale, abs(outExact[i])) }
        return worst / scale
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
        let layer = try QuantizedKVCacheLayer(kvHeads: 8, headDim: 128, capacity: 100, keyBits: bits.key, valueBits: bits.value, arena: arena)
        #expect(arena.inUse == type.bytesPerTokenPerLayer(kvWidth: 8 * 128) * 100)
        _ = layer
    }
}
