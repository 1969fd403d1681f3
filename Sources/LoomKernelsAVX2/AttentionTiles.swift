// Tile kernels of blocked (flash-style) attention. This one source is compiled three times:
// in LoomKernels (portable: SSE2 or NEON), LoomKernelsAVX2 and LoomKernelsAVX512, so SIMD16<Float>
// lowers to the widest vectors each path has. It uses no intrinsics.
//
// A tile is `AttentionTile.width` cached positions of one KV head, widened to f32. The query rows
// meeting it are every query head of the KV head's group for a run of tokens, so each cached
// key and value is converted once per tile rather than once per (token, head).

/// acc + a·b, fused where the target has FMA (LLVM would otherwise call fmaf per lane).
@inline(__always)
func fused(_ acc: SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    #if SIMD_FMA || arch(arm64)
    return acc.addingProduct(a, b)
    #else
    return acc + a * b
    #endif
}

@inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

public enum AttentionTile {
    /// Cached positions per tile.
    public static let width = 64

    /// s[r, 0..<64] = Σ_d q[r, d] · kT[d, 0..<64] for r < rows.
    /// - Parameters:
    ///   - q: [rows, headDim]
    ///   - keysT: [headDim, 64], the tile's keys transposed
    ///   - s: [rows, 64]
    public static func scores(_ q: UnsafePointer<Float>, rows: Int, headDim: Int, keysT: UnsafePointer<Float>,
                              into s: UnsafeMutablePointer<Float>) {
        var r = 0
        #if WIDE_SIMD
        // 4 rows × 64 keys: 16 accumulators, four loads of kT per 16 FMAs.
        while r + 4 <= rows {
            let q0 = q + r * headDim, q1 = q0 + headDim, q2 = q1 + headDim, q3 = q2 + headDim
            var a00 = SIMD16<Float>(), a01 = a00, a02 = a00, a03 = a00
            var a10 = a00, a11 = a00, a12 = a00, a13 = a00
            var a20 = a00, a21 = a00, a22 = a00, a23 = a00
            var a30 = a00, a31 = a00, a32 = a00, a33 = a00
            for d in 0..<headDim {
                let k = keysT + d * 64
                let k0 = load16(k), k1 = load16(k + 16), k2 = load16(k + 32), k3 = load16(k + 48)
                let b0 = SIMD16<Float>(repeating: q0[d]), b1 = SIMD16<Float>(repeating: q1[d])
                let b2 = SIMD16<Float>(repeating: q2[d]), b3 = SIMD16<Float>(repeating: q3[d])
                a00 = fused(a00, b0, k0); a01 = fused(a01, b0, k1); a02 = fused(a02, b0, k2); a03 = fused(a03, b0, k3)
                a10 = fused(a10, b1, k0); a11 = fused(a11, b1, k1); a12 = fused(a12, b1, k2); a13 = fused(a13, b1, k3)
                a20 = fused(a20, b2, k0); a21 = fused(a21, b2, k1); a22 = fused(a22, b2, k2); a23 = fused(a23, b2, k3)
                a30 = fused(a30, b3, k0); a31 = fused(a31, b3, k1); a32 = fused(a32, b3, k2); a33 = fused(a33, b3, k3)
            }
            let o = s + r * 64
            store16(a00, o); store16(a01, o + 16); store16(a02, o + 32); store16(a03, o + 48)
            store16(a10, o + 64); store16(a11, o + 80); store16(a12, o + 96); store16(a13, o + 112)
            store16(a20, o + 128); store16(a21, o + 144); store16(a22, o + 160); store16(a23, o + 176)
            store16(a30, o + 192); store16(a31, o + 208); store16(a32, o + 224); store16(a33, o + 240)
            r += 4
        }
        #endif
        while r < rows {
            let q0 = q + r * headDim
            var a0 = SIMD16<Float>(), a1 = a0, a2 = a0, a3 = a0
            for d in 0..<headDim {
                let k = keysT + d * 64
                let b = SIMD16<Float>(repeating: q0[d])
                a0 = fused(a0, b, load16(k)); a1 = fused(a1, b, load16(k + 16))
                a2 = fused(a2, b, load16(k + 32)); a3 = fused(a3, b, load16(k + 48))
            }
            let o = s + r * 64
            store16(a0, o); store16(a1, o + 16); store16(a2, o + 32); store16(a3, o + 48)
            r += 1
        }
    }

    /// keysT[d, j] = keys[j, d] for j < n, and 0 for n ≤ j < 64: a tile's keys turned so that
    /// `scores` reads 64 keys of one dimension as four vectors.
    ///
    /// In 16×16 blocks, each transposed in registers by four rounds of "even lanes of rows 2i
    /// and 2i + 1 to row i, odd lanes to row 8 + i": a round rotates the 8-bit (row, lane) index
    /// right by one, so four rounds swap row and lane. That is 64 two-source shuffles per 256
    /// values, where the scalar loop it replaces did a strided load and a store per value (10% of
    /// decode at depth 4096).
    /// - Parameters:
    ///   - keys: [n, headDim]; headDim a multiple of 16
    ///   - keysT: [headDim, 64]
    public static func transpose(_ keys: UnsafePointer<Float>, count n: Int, headDim: Int, into keysT: UnsafeMutablePointer<Float>) {
        typealias Rows = (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
                          SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)
        @inline(__always) func round(_ r: Rows) -> Rows {
            @inline(__always) func even(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { SIMD16(lowHalf: a.evenHalf, highHalf: b.evenHalf) }
            @inline(__always) func odd(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { SIMD16(lowHalf: a.oddHalf, highHalf: b.oddHalf) }
            return (even(r.0, r.1), even(r.2, r.3), even(r.4, r.5), even(r.6, r.7), even(r.8, r.9), even(r.10, r.11), even(r.12, r.13), even(r.14, r.15),
                    odd(r.0, r.1), odd(r.2, r.3), odd(r.4, r.5), odd(r.6, r.7), odd(r.8, r.9), odd(r.10, r.11), odd(r.12, r.13), odd(r.14, r.15))
        }
        for j0 in stride(from: 0, to: 64, by: 16) {
            for d0 in stride(from: 0, to: headDim, by: 16) {
                @inline(__always) func row(_ j: Int) -> SIMD16<Float> { j0 + j < n ? load16(keys + (j0 + j) * headDim + d0) : SIMD16() }
                var r: Rows = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7),
                               row(8), row(9), row(10), row(11), row(12), row(13), row(14), row(15))
                r = round(round(round(round(r))))
                let out = keysT + d0 * 64 + j0
                store16(r.0, out); store16(r.1, out + 64); store16(r.2, out + 128); store16(r.3, out + 192)
                store16(r.4, out + 256); store16(r.5, out + 320); store16(r.6, out + 384); store16(r.7, out + 448)
                store16(r.8, out + 512); store16(r.9, out + 576); store16(r.10, out + 640); store16(r.11, out + 704)
                store16(r.12, out + 768); store16(r.13, out + 832); store16(r.14, out + 896); store16(r.15, out + 960)
            }
        }
    }

    /// o[r, :] = alpha[r] · o[r, :] + Σ_{j < keys} p[r, j] · v[j, :] for r < rows.
    /// - Parameters:
    ///   - p: [rows, 64] softmax numerators (zero where masked)
    ///   - alpha: [rows] rescale of the running output (online softmax)
    ///   - values: [keys, headDim]; headDim a multiple of 16
    ///   - o: [rows, headDim]
    public static func accumulate(_ p: UnsafePointer<Float>, alpha: UnsafePointer<Float>, rows: Int, keys: Int,
                                  values: UnsafePointer<Float>, headDim: Int, into o: UnsafeMutablePointer<Float>) {
        var c = 0
        while c < headDim {
            // 64 columns at a time, or the remaining 16·k.
            let width = min(64, headDim - c)
            var r = 0
            #if WIDE_SIMD
            if width == 64 {
                while r + 4 <= rows {
                    let o0 = o + r * headDim + c, o1 = o0 + headDim, o2 = o1 + headDim, o3 = o2 + headDim
                    let s0 = SIMD16<Float>(repeating: alpha[r]), s1 = SIMD16<Float>(repeating: alpha[r + 1])
                    let s2 = SIMD16<Float>(repeating: alpha[r + 2]), s3 = SIMD16<Float>(repeating: alpha[r + 3])
                    var a00 = load16(o0) * s0, a01 = load16(o0 + 16) * s0, a02 = load16(o0 + 32) * s0, a03 = load16(o0 + 48) * s0
                    var a10 = load16(o1) * s1, a11 = load16(o1 + 16) * s1, a12 = load16(o1 + 32) * s1, a13 = load16(o1 + 48) * s1
                    var a20 = load16(o2) * s2, a21 = load16(o2 + 16) * s2, a22 = load16(o2 + 32) * s2, a23 = load16(o2 + 48) * s2
                    var a30 = load16(o3) * s3, a31 = load16(o3 + 16) * s3, a32 = load16(o3 + 32) * s3, a33 = load16(o3 + 48) * s3
                    let p0 = p + r * 64, p1 = p0 + 64, p2 = p1 + 64, p3 = p2 + 64
                    for j in 0..<keys {
                        let v = values + j * headDim + c
                        let v0 = load16(v), v1 = load16(v + 16), v2 = load16(v + 32), v3 = load16(v + 48)
                        let b0 = SIMD16<Float>(repeating: p0[j]), b1 = SIMD16<Float>(repeating: p1[j])
                        let b2 = SIMD16<Float>(repeating: p2[j]), b3 = SIMD16<Float>(repeating: p3[j])
                        a00 = fused(a00, b0, v0); a01 = fused(a01, b0, v1); a02 = fused(a02, b0, v2); a03 = fused(a03, b0, v3)
                        a10 = fused(a10, b1, v0); a11 = fused(a11, b1, v1); a12 = fused(a12, b1, v2); a13 = fused(a13, b1, v3)
                        a20 = fused(a20, b2, v0); a21 = fused(a21, b2, v1); a22 = fused(a22, b2, v2); a23 = fused(a23, b2, v3)
                        a30 = fused(a30, b3, v0); a31 = fused(a31, b3, v1); a32 = fused(a32, b3, v2); a33 = fused(a33, b3, v3)
                    }
                    store16(a00, o0); store16(a01, o0 + 16); store16(a02, o0 + 32); store16(a03, o0 + 48)
                    store16(a10, o1); store16(a11, o1 + 16); store16(a12, o1 + 32); store16(a13, o1 + 48)
                    store16(a20, o2); store16(a21, o2 + 16); store16(a22, o2 + 32); store16(a23, o2 + 48)
                    store16(a30, o3); store16(a31, o3 + 16); store16(a32, o3 + 32); store16(a33, o3 + 48)
                    r += 4
                }
            }
            #endif
            while r < rows {
                let o0 = o + r * headDim + c, p0 = p + r * 64
                let scale = SIMD16<Float>(repeating: alpha[r])
                var k = 0
                while k < width {
                    // One 16-column strip of this row; short, so it stays in registers.
                    var a = load16(o0 + k) * scale
                    for j in 0..<keys { a = fused(a, SIMD16<Float>(repeating: p0[j]), load16(values + j * headDim + c + k)) }
                    store16(a, o0 + k)
                    k += 16
                }
                r += 1
            }
            c += width
        }
    }

    /// One online-softmax step for a row of tile scores `s[0..<64]`, of which only `valid` count.
    /// Turns the valid scores into exp(s − m′) and the rest into 0, where m′ is the new running
    /// maximum; updates `maximum` and `sum`, and returns the factor the row's running output must
    /// be multiplied by (exp(m − m′)).
    public static func softmaxStep(_ s: UnsafeMutablePointer<Float>, valid: Range<Int>,
                                   maximum: inout Float, sum: inout Float) -> Float {
        let lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let low = Int32(valid.lowerBound), high = Int32(valid.upperBound)
        let negativeInfinity = SIMD16<Float>(repeating: -.infinity)
        @inline(__always) func masked(_ j: Int) -> SIMD16<Float> {
            let index = lanes &+ Int32(j)
            return negativeInfinity.replacing(with: load16(s + j), where: (index .>= low) .& (index .< high))
        }
        // Masked scores, held in registers for both passes.
        let scores = (masked(0), masked(16), masked(32), masked(48))
        var top = scores.0.replacing(with: scores.1, where: scores.1 .> scores.0)
        let other = scores.2.replacing(with: scores.3, where: scores.3 .> scores.2)
        top = top.replacing(with: other, where: other .> top)
        let eight = top.lowHalf.replacing(with: top.highHalf, where: top.highHalf .> top.lowHalf)
        let tileMax = horizontalMax(eight)
        guard tileMax > -Float.infinity else {
            // Nothing attendable here (or every score is -inf): the row is unchanged.
            for j in 0..<64 { s[j] = 0 }
            return 1
        }
        let newMax = Swift.max(maximum, tileMax)
        let alpha = maximum == -Float.infinity ? 0 : exponential(SIMD16<Float>(repeating: maximum - newMax))[0]
        let shift = SIMD16<Float>(repeating: newMax)
        // exp(-inf) is 0, so masked lanes drop out by themselves.
        let e0 = exponential(scores.0 - shift), e1 = exponential(scores.1 - shift)
        let e2 = exponential(scores.2 - shift), e3 = exponential(scores.3 - shift)
        store16(e0, s); store16(e1, s + 16); store16(e2, s + 32); store16(e3, s + 48)
        let total = (e0 + e1) + (e2 + e3)
        maximum = newMax
        sum = sum * alpha + horizontalSum(total)
        return alpha
    }

    /// eˣ per lane to about 1 ulp for x ≤ 0 (Cephes' expf polynomial on x − n·ln2, times 2ⁿ);
    /// inputs below −87 give 0.
    @inline(__always)
    public static func exponential(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let clamped = x.replacing(with: -87, where: x .< -87).replacing(with: 88, where: x .> 88)
        // Round to nearest with the 1.5·2²³ trick, which also leaves n as an integer in the low
        // mantissa bits of t: no roundps (absent on plain SSE2) and no float-to-int conversion.
        let magic = SIMD16<Float>(repeating: 12_582_912)
        let t = clamped * 1.442_695_04 + magic
        let n = t - magic
        let r = clamped - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = SIMD16<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let y = p * (r * r) + r + 1
        let bits = (unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        var result = y * unsafeBitCast(bits, to: SIMD16<Float>.self)
        result.replace(with: 0, where: x .< -87)
        return result
    }
}
