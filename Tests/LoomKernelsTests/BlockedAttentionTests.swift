import Foundation
import Testing
import LoomCore
import LoomKernels

/// Blocked attention against attention computed in float64 straight from the definition
/// (softmax(q·kᵀ·scale) · v, causal, optional sliding window), on every kernel path this CPU runs.
@Suite struct BlockedAttentionTests {
    struct Shape: CustomStringConvertible, Sendable {
        let heads: Int, kvHeads: Int, headDim: Int, start: Int, count: Int, window: Int?
        var description: String { "h\(heads)/kv\(kvHeads) d\(headDim) start \(start) count \(count) window \(window.map(String.init) ?? "-")" }
    }

    static let shapes: [Shape] = [
        Shape(heads: 14, kvHeads: 2, headDim: 64, start: 0, count: 150, window: nil),    // Qwen2.5-0.5B, a prompt
        Shape(heads: 14, kvHeads: 2, headDim: 64, start: 200, count: 1, window: nil),    // … one decode step
        Shape(heads: 8, kvHeads: 8, headDim: 128, start: 37, count: 70, window: nil),    // no GQA, a second chunk
        Shape(heads: 4, kvHeads: 1, headDim: 48, start: 10, count: 90, window: 33),      // sliding window, odd head size
        Shape(heads: 2, kvHeads: 2, headDim: 16, start: 0, count: 3, window: 1),         // window of one: copies v
    ]

    static func reference(_ s: Shape, q: [Float], k: [Float], v: [Float], scale: Float) -> [Double] {
        let group = s.heads / s.kvHeads
        var out = [Double](repeating: 0, count: s.count * s.heads * s.headDim)
        for t in 0..<s.count {
            let position = s.start + t
            let first = s.window.map { max(0, position - $0 + 1) } ?? 0
            for h in 0..<s.heads {
                let kv = h / group
                let query = (t * s.heads + h) * s.headDim
                var logits = [Double]()
                for p in first...position {
                    var dot = 0.0
                    for d in 0..<s.headDim { dot += Double(q[query + d]) * Double(k[(p * s.kvHeads + kv) * s.headDim + d]) }
                    logits.append(dot * Double(scale))
                }
                let top = logits.max()!
                let weights = logits.map { Foundation.exp($0 - top) }
                let total = weights.reduce(0, +)
                for (i, p) in (first...position).enumerated() {
                    for d in 0..<s.headDim {
                        out[query + d] += weights[i] / total * Double(v[(p * s.kvHeads + kv) * s.headDim + d])
                    }
                }
            }
        }
        return out
    }

    @Test(arguments: shapes)
    func matchesFloat64Definition(_ s: Shape) throws {
        var rng = SplitMix64(seed: UInt64(s.headDim * 1000 + s.count))
        let positions = s.start + s.count
        // Keys and values: [positions, kvHeads, headDim], as the cache would store them.
        let k = (0..<(positions * s.kvHeads * s.headDim)).map { _ in rng.normal() }
        let v = (0..<(positions * s.kvHeads * s.headDim)).map { _ in rng.normal() }
        let q = (0..<(s.count * s.heads * s.headDim)).map { _ in 2 * rng.normal() }
        let scale = 1 / Float(s.headDim).squareRoot()
        let expected = Self.reference(s, q: q, k: k, v: v, scale: scale)
        let pool = ThreadPool(threads: 2)
        let stride = BlockedAttention.workerScratchFloats(capacity: positions, heads: s.heads, kvHeads: s.kvHeads, headDim: s.headDim,
                                                          maxTokens: s.count)
        for path in KernelPath.supported {
            var out = [Float](repeating: .nan, count: q.count)
            var workspace = [Float](repeating: .nan, count: pool.threadCount * stride)
            k.withUnsafeBufferPointer { keys in
                v.withUnsafeBufferPointer { values in
                    BlockedAttention(heads: s.heads, kvHeads: s.kvHeads, headDim: s.headDim)
                        .run(queries: q, start: s.start, count: s.count, scale: scale, window: s.window, out: &out,
                             workspace: &workspace, workspaceStride: stride, path: path, pool: pool) { head, first, n, isKeys, into in
                            let source = isKeys ? keys.baseAddress! : values.baseAddress!
                            for i in 0..<n {
                                (into + i * s.headDim).update(from: source + ((first + i) * s.kvHeads + head) * s.headDim, count: s.headDim)
                            }
                        }
                }
            }
            var worst = 0.0
            for i in expected.indices { worst = max(worst, abs(Double(out[i]) - expected[i])) }
            // f32 accumulation over ≤ 240 positions of unit-scale values: errors near 1e-6.
            #expect(worst < 2e-5, "\(path) \(s): max |Δ| \(worst)")
        }
    }

    @Test func exponentialIsAccurate() {
        var worst: Float = 0
        var x: Float = -87
        while x <= 0 {
            let got = LoomKernels.AttentionTile.exponential(SIMD16<Float>(repeating: x))[0]
            let want = Float(Foundation.exp(Double(x)))
            worst = max(worst, abs(got - want) / want)
            x += 0.013
        }
        #expect(worst < 4e-7, "worst relative error \(worst)")
        #expect(LoomKernels.AttentionTile.exponential(SIMD16<Float>(repeating: -.infinity))[0] == 0)
        #expect(LoomKernels.AttentionTile.exponential(SIMD16<Float>(repeating: -100))[0] == 0)
    }
}

/// fp16 caches hand attention tiles widened by `F16Element.widen` (F16C on x86): every one of the
/// 65,536 half-precision bit patterns must widen exactly as Swift's own Float16 → Float does.
@Suite struct CacheTileWideningTests {
    @Test func f16WideningMatchesFloat16ForEveryBitPattern() {
        let halves = (0..<65536).map { UInt16($0) }
        var out = [Float](repeating: 0, count: halves.count)
        halves.withUnsafeBytes { F16Element.widen($0.baseAddress!, count: halves.count, into: &out) }
        var mismatches = 0
        for (i, bits) in halves.enumerated() {
            let want = Float(Float16(bitPattern: bits))
            if want.isNaN ? !out[i].isNaN : out[i].bitPattern != want.bitPattern { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}

/// Encoder (bidirectional) attention against the decode kernel `attendOneHead`, an independent
/// implementation: every query of a head over all of its keys, on every path this CPU runs.
@Suite struct EncoderAttentionTests {
    @Test func everyQueryMatchesTheOneHeadKernel() {
        var generator = SystemRandomNumberGenerator()
        for path in KernelPath.supported {
            for headDim in [8, 32, 64] {
                for length in [1, 2, 15, 16, 17, 63, 64, 65, 130] {
                    let heads = 3, stride = heads * headDim
                    let q = (0..<(length * stride)).map { _ in Float.random(in: -2...2, using: &generator) }
                    let k = (0..<(length * stride)).map { _ in Float.random(in: -2...2, using: &generator) }
                    let v = (0..<(length * stride)).map { _ in Float.random(in: -2...2, using: &generator) }
                    var out = [Float](repeating: .nan, count: length * stride)
                    var scratch = [Float](repeating: 0, count: encoderAttentionScratch(length: length, headDim: headDim))
                    let scale = 1 / Float(headDim).squareRoot()
                    for h in 0..<heads {
                        out.withUnsafeMutableBufferPointer { o in scratch.withUnsafeMutableBufferPointer { s in
                            attendAllPositions(query: q.withUnsafeBufferPointer { $0.baseAddress! } + h * headDim,
                                               key: k.withUnsafeBufferPointer { $0.baseAddress! } + h * headDim,
                                               value: v.withUnsafeBufferPointer { $0.baseAddress! } + h * headDim,
                                               out: o.baseAddress! + h * headDim, stride: stride, length: length, headDim: headDim,
                                               scale: scale, scratch: s.baseAddress!, path: path)
                        } }
                    }
                    var worst: Float = 0
                    for h in 0..<heads {
                        // The one-head kernel wants this head's keys and values contiguous.
                        var keys = [Float](), values = [Float]()
                        for t in 0..<length {
                            keys += k[(t * stride + h * headDim)..<(t * stride + (h + 1) * headDim)]
                            values += v[(t * stride + h * headDim)..<(t * stride + (h + 1) * headDim)]
                        }
                        for i in 0..<length {
                            var expected = [Float](repeating: 0, count: headDim), scores = [Float](repeating: 0, count: length)
                            let query = Array(q[(i * stride + h * headDim)..<(i * stride + (h + 1) * headDim)])
                            attendOneHead(query: query, keys: keys, values: values, element: F32Element.self, length: length,
                                          headDim: headDim, scale: scale, scores: &scores, out: &expected)
                            for d in 0..<headDim { worst = max(worst, abs(out[i * stride + h * headDim + d] - expected[d])) }
                        }
                    }
                    #expect(worst <= 2e-5, "\(path) headDim \(headDim) length \(length): max difference \(worst)")
                }
            }
        }
    }
}
