// Full (bidirectional) attention for encoders. Like AttentionTiles.swift, this one source is
// compiled three times (LoomKernels, LoomKernelsAVX2, LoomKernelsAVX512: symlinks), so SIMD16<Float>
// lowers to the widest vectors each path has; `attendAllPositions` in Attention.swift picks one.

public enum EncoderAttention {
    /// Floats of scratch `attend` needs for `length` positions of `headDim`.
    public static func scratchFloats(length: Int, headDim: Int) -> Int { padded(length) * (headDim + 1) }

    /// Positions rounded up to whole blocks of sixteen: the transposed keys' row length.
    @inline(__always)
    static func padded(_ length: Int) -> Int { (length + 15) & ~15 }

    /// Scaled dot-product attention of one head where each of `length` queries attends to the
    /// same `length` keys. Scores for a query are computed sixteen keys at a time from the keys
    /// transposed (four blocks at once, so the FMA chains overlap), so short heads (BERT's 32 or
    /// 64 wide) pay no horizontal sum per key; every query's arithmetic is the same whatever the
    /// other queries are.
    ///
    /// - Parameters:
    ///   - query, key, value, out: `length` rows, `stride` floats apart; the head's `headDim`
    ///     elements start each row
    ///   - scratch: at least `scratchFloats(length:headDim:)` floats: the keys transposed, each
    ///     row padded with zeros to whole blocks of sixteen, then one query's scores
    public static func attend(query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
                              out: UnsafeMutablePointer<Float>, stride: Int, length: Int, headDim: Int, scale: Float,
                              scratch: UnsafeMutablePointer<Float>) {
        let width = padded(length)
        let keysT = scratch                         // [headDim, width]
        let scores = scratch + headDim * width      // [width]
        for d in 0..<headDim {
            for t in 0..<length { keysT[d * width + t] = key[t * stride + d] }
            for t in length..<width { keysT[d * width + t] = 0 }
        }
        for i in 0..<length {
            let q = query + i * stride
            var t = 0
            while t + 64 <= width {
                var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                for d in 0..<headDim {
                    let qd = SIMD16<Float>(repeating: q[d]), row = keysT + d * width + t
                    a0 = fused(a0, qd, load16(row)); a1 = fused(a1, qd, load16(row + 16))
                    a2 = fused(a2, qd, load16(row + 32)); a3 = fused(a3, qd, load16(row + 48))
                }
                store16(a0, scores + t); store16(a1, scores + t + 16); store16(a2, scores + t + 32); store16(a3, scores + t + 48)
                t += 64
            }
            while t < width {
                var a0 = SIMD16<Float>()
                for d in 0..<headDim { a0 = fused(a0, SIMD16<Float>(repeating: q[d]), load16(keysT + d * width + t)) }
                store16(a0, scores + t)
                t += 16
            }
            softmax(scores, length: length, scale: scale)
            let o = out + i * stride
            var d = 0
            while d + 16 <= headDim {
                var acc = SIMD16<Float>()
                for t in 0..<length { acc = fused(acc, SIMD16<Float>(repeating: scores[t]), load16(value + t * stride + d)) }
                store16(acc, o + d)
                d += 16
            }
            while d < headDim {
                var acc: Float = 0
                for t in 0..<length { acc += scores[t] * value[t * stride + d] }
                o[d] = acc
                d += 1
            }
        }
    }

    /// scores ← softmax(scores · scale), sixteen lanes at a time (the tail in one padded block).
    @inline(__always)
    static func softmax(_ scores: UnsafeMutablePointer<Float>, length: Int, scale: Float) {
        var maximum = -Float.infinity
        for t in 0..<length { scores[t] *= scale; maximum = max(maximum, scores[t]) }
        let top = SIMD16<Float>(repeating: maximum)
        var sums = SIMD16<Float>()
        var t = 0
        while t + 16 <= length {
            let e = AttentionTile.exponential(load16(scores + t) - top)
            store16(e, scores + t)
            sums += e
            t += 16
        }
        if t < length {
            var x = SIMD16<Float>(repeating: -Float.infinity)
            for lane in 0..<(length - t) { x[lane] = scores[t + lane] }
            let e = AttentionTile.exponential(x - top)
            for lane in 0..<(length - t) { scores[t + lane] = e[lane] }
            sums += e
        }
        let inverse = 1 / sums.sum()
        for t in 0..<length { scores[t] *= inverse }
    }
}
