// x86 kernels for the 32-weight block formats against Q8 activations (blocks of 32 int8 with an f32
// scale and Σq per 16). This one file is compiled twice: in LoomKernelsAVX2 with AVX2+FMA+F16C,
// and (through a symlink) in LoomKernelsAVX512 with AVX-512 VNNI, where `VNNI` is defined and the
// u8×s8 products use vpdpbusd. Neither module may be called before a CPUID check: their code uses
// those instructions throughout. See LoomKernels/KernelPath.swift.
#if arch(x86_64)
import _Builtin_intrinsics.intel

@inline(__always) func load256(_ p: UnsafeRawPointer) -> __m256i { p.loadUnaligned(as: __m256i.self) }
@inline(__always) func load128(_ p: UnsafeRawPointer) -> __m128i { p.loadUnaligned(as: __m128i.self) }
@inline(__always) func loadHalf(_ p: UnsafeRawPointer) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(as: UInt16.self)))
}

/// Σ u·s over each 4 bytes of 32 (u unsigned, s signed), as 8 int32 lanes.
@inline(__always) func dotUnsignedSigned(_ u: __m256i, _ s: __m256i) -> __m256i {
    #if VNNI
    // The unmasked form is a C macro Swift cannot import; an all-ones mask folds to plain vpdpbusd.
    return _mm256_maskz_dpbusd_epi32(0xFF, _mm256_setzero_si256(), u, s)
    #else
    // |u·s| pairs stay below 2·255·127 only for u ≤ 128 as used here, so maddubs cannot saturate.
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
    #endif
}

/// Σ a·b over signed bytes: |a| times b with a's sign.
@inline(__always) func dotSigned(_ a: __m256i, _ b: __m256i) -> __m256i {
    dotUnsignedSigned(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a))
}

/// 16 bytes of packed nibbles → 32 bytes: the low nibbles (weights 0–15), then the high (16–31).
@inline(__always) func unpackNibbles(_ p: UnsafeRawPointer) -> __m256i {
    let packed = load128(p)
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(15))
}

/// Bit j of `bits` → 0x10 in byte j (the fifth bit of q5 weights).
@inline(__always) func fifthBits(_ bits: UInt32) -> __m256i {
    let spread = _mm256_shuffle_epi8(_mm256_set1_epi32(Int32(bitPattern: bits)),
                                     _mm256_setr_epi64x(0, 0x0101_0101_0101_0101, 0x0202_0202_0202_0202, 0x0303_0303_0303_0303))
    let mask = _mm256_set1_epi64x(Int64(bitPattern: 0x8040_2010_0804_0201))
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, mask), mask), _mm256_set1_epi8(0x10))
}

/// One weight block against one activation block: the integer dot product, the factor it is
/// scaled by (besides the activation scale), and the factor of the activation sum Σq (the min or
/// the unsigned-offset term; 0 when `hasSumTerm` is false).
typealias BlockDot = (UnsafeRawPointer, __m256i) -> (dot: __m256i, scale: Float, sumFactor: Float)

/// Accumulates one block of one row.
@inline(__always)
func accumulate(_ acc: inout __m256, _ sumTerm: inout Float, _ block: BlockDot, _ weights: UnsafeRawPointer,
                _ x: __m256i, _ dx: Float, _ xsum: Float, _ hasSumTerm: Bool) {
    let (dot, scale, sumFactor) = block(weights, x)
    acc = _mm256_fmadd_ps(_mm256_set1_ps(scale * dx), _mm256_cvtepi32_ps(dot), acc)
    if hasSumTerm { sumTerm += sumFactor * xsum }
}

/// The shared row loop, four rows at a time: the activation block is loaded once for all four,
/// and the four accumulators are independent, which hides the FMA latency that bounds one row.
@inline(__always)
func blockRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int, _ blockBytes: Int,
               _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
               _ y: UnsafeMutablePointer<Float>, hasSumTerm: Bool, _ block: BlockDot) {
    var r = start
    while r + 4 <= end {
        let w0 = w + r * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
        var sum0: Float = 0, sum1: Float = 0, sum2: Float = 0, sum3: Float = 0
        for b in 0..<blocks {
            let x = load256(xq + 32 * b)
            let dx = xd[b]
            let xsum = hasSumTerm ? dx * Float(xs[2 * b] &+ xs[2 * b + 1]) : 0
            let offset = b * blockBytes
            accumulate(&acc0, &sum0, block, w0 + offset, x, dx, xsum, hasSumTerm)
            accumulate(&acc1, &sum1, block, w1 + offset, x, dx, xsum, hasSumTerm)
            accumulate(&acc2, &sum2, block, w2 + offset, x, dx, xsum, hasSumTerm)
            accumulate(&acc3, &sum3, block, w3 + offset, x, dx, xsum, hasSumTerm)
        }
        y[r] = horizontalSum(acc0) + sum0
        y[r + 1] = horizontalSum(acc1) + sum1
        y[r + 2] = horizontalSum(acc2) + sum2
        y[r + 3] = horizontalSum(acc3) + sum3
        r += 4
    }
    while r < end {
        let row = w + r * rowBytes
        var acc = _mm256_setzero_ps()
        var sumTerm: Float = 0
        for b in 0..<blocks {
            let dx = xd[b]
            let xsum = hasSumTerm ? dx * Float(xs[2 * b] &+ xs[2 * b + 1]) : 0
            accumulate(&acc, &sumTerm, block, row + b * blockBytes, load256(xq + 32 * b), dx, xsum, hasSumTerm)
        }
        y[r] = horizontalSum(acc) + sumTerm
        r += 1
    }
}

/// Quantizes `blocks` blocks of 32 activations to int8 with f32 scales d = max|x|/127 (rounding
/// to nearest even, within d/2 like ggml's), and Σq over each 16, for the kernels above.
///
/// `halves` takes a scale over each 16 values instead (two per block in `d`). Given `r` (and not
/// `halves`), also writes the rounding residual in steps of d/128, r = round(128·(x/d − q)),
/// |r| ≤ 64, and Σr per block to `rsums`: x ≈ d·(q + r/128) to within d/256.
public func quantizeQ8Blocks(_ x: UnsafePointer<Float>, _ blocks: Int, _ q: UnsafeMutablePointer<Int8>,
                             _ d: UnsafeMutablePointer<Float>, _ sums: UnsafeMutablePointer<Int32>,
                             halves: Bool, _ r: UnsafeMutablePointer<Int8>?, _ rsums: UnsafeMutablePointer<Int32>?) {
    let signBit = _mm256_set1_ps(-0.0)
    @inline(__always) func store32(_ i0: __m256i, _ i1: __m256i, _ i2: __m256i, _ i3: __m256i, _ out: UnsafeMutablePointer<Int8>) {
        let packed16 = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3))
        // packs works within 128-bit lanes; restore element order.
        let ordered = _mm256_permutevar8x32_epi32(packed16, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
        UnsafeMutableRawPointer(out).storeBytes(of: ordered, as: __m256i.self)
    }
    @inline(__always) func inverse(_ amax: Float) -> (scale: Float, inverse: __m256) {
        let scale = amax / 127
        return (scale, _mm256_set1_ps(scale > 0 && scale.isFinite ? 1 / scale : 0))
    }
    for b in 0..<blocks {
        let p = UnsafeRawPointer(x + 32 * b)
        let v0 = p.loadUnaligned(as: __m256.self), v1 = p.loadUnaligned(fromByteOffset: 32, as: __m256.self)
        let v2 = p.loadUnaligned(fromByteOffset: 64, as: __m256.self), v3 = p.loadUnaligned(fromByteOffset: 96, as: __m256.self)
        let m01 = _mm256_max_ps(_mm256_andnot_ps(signBit, v0), _mm256_andnot_ps(signBit, v1))
        let m23 = _mm256_max_ps(_mm256_andnot_ps(signBit, v2), _mm256_andnot_ps(signBit, v3))
        let k01: __m256, k23: __m256
        if halves {
            let first = inverse(horizontalMax(m01)), second = inverse(horizontalMax(m23))
            d[2 * b] = first.scale
            d[2 * b + 1] = second.scale
            (k01, k23) = (first.inverse, second.inverse)
        } else {
            let whole = inverse(horizontalMax(_mm256_max_ps(m01, m23)))
            d[b] = whole.scale
            (k01, k23) = (whole.inverse, whole.inverse)
        }
        let f0 = _mm256_mul_ps(v0, k01), f1 = _mm256_mul_ps(v1, k01), f2 = _mm256_mul_ps(v2, k23), f3 = _mm256_mul_ps(v3, k23)
        let i0 = _mm256_cvtps_epi32(f0), i1 = _mm256_cvtps_epi32(f1), i2 = _mm256_cvtps_epi32(f2), i3 = _mm256_cvtps_epi32(f3)
        // NaN converts to 0x80000000, which saturates to -128 below: wrong but never a trap.
        store32(i0, i1, i2, i3, q + 32 * b)
        sums[2 * b] = horizontalSum(unsafeBitCast(_mm256_add_epi32(i0, i1), to: SIMD8<Int32>.self))
        sums[2 * b + 1] = horizontalSum(unsafeBitCast(_mm256_add_epi32(i2, i3), to: SIMD8<Int32>.self))
        guard let r, let rsums, !halves else { continue }
        // f − q is exact in f32 (|f| ≤ 127, |f − q| ≤ 1/2), and so is its product with 128.
        let step = _mm256_set1_ps(128)
        @inline(__always) func residual(_ f: __m256, _ i: __m256i) -> __m256i {
            _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_sub_ps(f, _mm256_cvtepi32_ps(i)), step))
        }
        let r0 = residual(f0, i0), r1 = residual(f1, i1), r2 = residual(f2, i2), r3 = residual(f3, i3)
        store32(r0, r1, r2, r3, r + 32 * b)
        rsums[b] = horizontalSum(unsafeBitCast(_mm256_add_epi32(_mm256_add_epi32(r0, r1), _mm256_add_epi32(r2, r3)), to: SIMD8<Int32>.self))
    }
}

/// q8_0 rows `start..<end` of `w` times one Q8 activation row, into y[start..<end].
public func q8_0Rows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    blockRows(w, rowBytes, start, end, blocks, 34, xq, xd, xs, y, hasSumTerm: false) { block, x in
        (dotSigned(load256(block + 2), x), loadHalf(block), 0)
    }
}

/// q4_0: nibbles q, weight d·(q − 8). Centring the nibbles and using the signed product is
/// cheaper than the unsigned product plus a scalar −8·Σx term per block.
public func q4_0Rows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    let eight = _mm256_set1_epi8(8)
    blockRows(w, rowBytes, start, end, blocks, 18, xq, xd, xs, y, hasSumTerm: false) { block, x in
        (dotSigned(_mm256_sub_epi8(unpackNibbles(block + 2), eight), x), loadHalf(block), 0)
    }
}

/// q4_1: weight d·q + m.
public func q4_1Rows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    blockRows(w, rowBytes, start, end, blocks, 20, xq, xd, xs, y, hasSumTerm: true) { block, x in
        (dotUnsignedSigned(unpackNibbles(block + 4), x), loadHalf(block), loadHalf(block + 2))
    }
}

/// q5_0: 5-bit q, weight d·(q − 16).
public func q5_0Rows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    blockRows(w, rowBytes, start, end, blocks, 22, xq, xd, xs, y, hasSumTerm: true) { block, x in
        let d = loadHalf(block)
        let q = _mm256_or_si256(unpackNibbles(block + 6), fifthBits(block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)))
        return (dotUnsignedSigned(q, x), d, -16 * d)
    }
}

/// q5_1: weight d·q + m.
public func q5_1Rows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    blockRows(w, rowBytes, start, end, blocks, 24, xq, xd, xs, y, hasSumTerm: true) { block, x in
        let q = _mm256_or_si256(unpackNibbles(block + 8), fifthBits(block.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        return (dotUnsignedSigned(q, x), loadHalf(block), loadHalf(block + 2))
    }
}

/// ggml's kvalues_iq4nl (−127, −104, −83, −65, −49, −35, −22, −10, 1, 13, 25, 38, 53, 69, 89,
/// 113) in both 128-bit lanes, for pshufb.
@inline(__always) func iq4Table() -> __m256i {
    _mm256_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
                     -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)
}

/// The same table plus 128, as unsigned bytes (1…241), for the unsigned-times-signed products.
@inline(__always) func iq4UnsignedTable() -> __m256i {
    _mm256_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, -127, -115, -103, -90, -75, -59, -39, -15,
                     1, 24, 45, 63, 79, 93, 106, 118, -127, -115, -103, -90, -75, -59, -39, -15)
}

/// The scale of sub-block j of an iq4_xs block whose f16 d is `d`: d·(ls − 32), ls 6 bits, 4
/// from scales_l (nibble j % 2 of byte j / 2) and 2 from scales_h.
@inline(__always) func iq4_xsSubScale(_ block: UnsafeRawPointer, d: Float, _ j: Int) -> Float {
    let low = (block.load(fromByteOffset: 4 + (j >> 1), as: UInt8.self) >> UInt8(4 * (j & 1))) & 15
    let high = UInt8(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self) >> UInt16(2 * j)) & 3
    return d * Float(Int32(low | high << 4) - 32)
}

/// iq4_nl: nibbles index ggml's non-linear table, looked up 32 at a time with pshufb.
public func iq4_nlRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                       _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    let table = iq4Table()
    blockRows(w, rowBytes, start, end, blocks, 18, xq, xd, xs, y, hasSumTerm: false) { block, x in
        (dotSigned(_mm256_shuffle_epi8(table, unpackNibbles(block + 2)), x), loadHalf(block), 0)
    }
}

/// iq4_xs: `blocks` super-blocks of 256 (136 bytes), each 8 iq4_nl-like sub-blocks of 32 with
/// their own scale (`iq4_xsSubScale`). The eight scales are decoded once per super-block and row, four rows at a time, then each
/// sub-block accumulates as `blockRows` does (the same operations in the same order).
public func iq4_xsRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                       _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    let table = iq4Table()
    @inline(__always) func scales(_ superBlock: UnsafeRawPointer) -> SIMD8<Float> {
        let d = loadHalf(superBlock)
        var result = SIMD8<Float>()
        for j in 0..<8 { result[j] = iq4_xsSubScale(superBlock, d: d, j) }
        return result
    }
    @inline(__always) func accumulate(_ acc: inout __m256, _ superBlock: UnsafeRawPointer, _ j: Int, _ scale: Float, _ x: __m256i, _ dx: Float) {
        let dot = dotSigned(_mm256_shuffle_epi8(table, unpackNibbles(superBlock + 8 + 16 * j)), x)
        acc = _mm256_fmadd_ps(_mm256_set1_ps(scale * dx), _mm256_cvtepi32_ps(dot), acc)
    }
    var r = start
    while r + 4 <= end {
        let w0 = w + r * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes
        var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        for b in 0..<blocks {
            let o = 136 * b
            let s0 = scales(w0 + o), s1 = scales(w1 + o), s2 = scales(w2 + o), s3 = scales(w3 + o)
            for j in 0..<8 {
                let a = 8 * b + j
                let x = load256(xq + 32 * a), dx = xd[a]
                accumulate(&acc0, w0 + o, j, s0[j], x, dx)
                accumulate(&acc1, w1 + o, j, s1[j], x, dx)
                accumulate(&acc2, w2 + o, j, s2[j], x, dx)
                accumulate(&acc3, w3 + o, j, s3[j], x, dx)
            }
        }
        y[r] = horizontalSum(acc0)
        y[r + 1] = horizontalSum(acc1)
        y[r + 2] = horizontalSum(acc2)
        y[r + 3] = horizontalSum(acc3)
        r += 4
    }
    while r < end {
        let row = w + r * rowBytes
        var acc = _mm256_setzero_ps()
        for b in 0..<blocks {
            let scale = scales(row + 136 * b)
            for j in 0..<8 {
                let a = 8 * b + j
                accumulate(&acc, row + 136 * b, j, scale[j], load256(xq + 32 * a), xd[a])
            }
        }
        y[r] = horizontalSum(acc)
        r += 1
    }
}

/// mxfp4: nibbles index the doubled E2M1 values (ggml's kvalues_mxfp4), looked up 32 at a time
/// with pshufb; the scale is half the block's E8M0 scale, 2^(e − 128), built from bits as ggml does.
public func mxfp4Rows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                      _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    let table = _mm256_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12,
                                 0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12)
    blockRows(w, rowBytes, start, end, blocks, 17, xq, xd, xs, y, hasSumTerm: false) { block, x in
        let e = block.load(as: UInt8.self)
        let d = Float(bitPattern: e < 2 ? UInt32(0x0020_0000) << UInt32(e) : UInt32(e - 1) << 23)
        return (dotSigned(_mm256_shuffle_epi8(table, unpackNibbles(block + 1)), x), d, 0)
    }
}
#endif
