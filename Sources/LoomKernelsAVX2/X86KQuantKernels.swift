// x86 decode kernels for the 256-weight K formats that llama.cpp's Q4_K_M mixes use (q4_K, q5_K,
// q6_K), against the same Q8 activations (blocks of 32). Compiled twice like X86QuantKernels.swift.
// Each 32-weight slice is unpacked to unsigned bytes and meets its activation block in one
// u8×s8 dot product; scales, mins and the q6_K offset of 32 are applied per slice in float.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The 6-bit scale and min of sub-block `i` of a q4_K/q5_K block (see Dequantize.kScaleMin).
@inline(__always) func kScaleMin(_ scales: UnsafeRawPointer, _ i: Int) -> (Float, Float) {
    @inline(__always) func byte(_ k: Int) -> UInt8 { scales.load(fromByteOffset: k, as: UInt8.self) }
    if i < 4 { return (Float(byte(i) & 63), Float(byte(4 + i) & 63)) }
    return (Float((byte(4 + i) & 15) | ((byte(i - 4) >> 2) & 0x30)), Float((byte(4 + i) >> 4) | ((byte(i) >> 2) & 0x30)))
}

/// The 8 scales and 8 mins of a q4_K/q5_K block (12 bytes at `scales`), as floats: `kScaleMin`
/// for all eight at once, four bytes per 32-bit operation. Sub-blocks 0–3 keep the low six bits
/// of bytes 0–3 (scales) and 4–7 (mins); sub-blocks 4–7 take their low four bits from the nibbles
/// of bytes 8–11 and their top two from the top bits of bytes 0–3 (scales) and 4–7 (mins).
@inline(__always) func kScalesAndMins(_ scales: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>) {
    let u0 = scales.loadUnaligned(as: UInt32.self), u1 = scales.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
    let u2 = scales.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
    let six: UInt32 = 0x3F3F_3F3F, four: UInt32 = 0x0F0F_0F0F, two: UInt32 = 0x0303_0303
    @inline(__always) func floats(_ low: UInt32, _ high: UInt32) -> SIMD8<Float> {
        let bytes = _mm_set_epi32(0, 0, Int32(bitPattern: high), Int32(bitPattern: low))
        return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes))
    }
    return (floats(u0 & six, (u2 & four) | ((u0 >> 6) & two) << 4), floats(u1 & six, ((u2 >> 4) & four) | ((u1 >> 6) & two) << 4))
}

/// dx·Σq of activation blocks first..<first+8, from the per-16 sums `xs` and those blocks'
/// scales `dx`.
@inline(__always) func blockSums8(_ dx: SIMD8<Float>, _ xs: UnsafePointer<Int32>, _ first: Int) -> SIMD8<Float> {
    let halves = UnsafeRawPointer(xs + 2 * first).loadUnaligned(as: SIMD16<Int32>.self)
    return SIMD8<Float>(halves.evenHalf &+ halves.oddHalf) * dx
}

/// q4_K (qh nil) and q5_K rows: slice j of a block is nibble j % 2 of qs[32·(j / 2) ..< +32],
/// plus bit j of qh[0..<32] as bit 4 for q5_K; weight = d·sc_j·q − dmin·m_j.
///
/// The per-slice factors d·sc_j·dx_j and the min term dmin·Σ m_j·dx_j·Σq_j are formed eight
/// slices at a time in vectors, once per block; only the integer dot product, its conversion
/// and one FMA remain per slice. Done slice by slice in scalar code they cost more than the
/// dot products (q4_K decode 9.4 GB/s on one AVX2 core, cache-resident).
@inline(__always)
func kRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int, _ blockBytes: Int, qhOffset: Int?,
           _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    let low4 = _mm256_set1_epi8(15)
    let qsOffset = qhOffset == nil ? 16 : 48
    for r in start..<end {
        let row = w + r * rowBytes
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var minTerms = SIMD8<Float>()
        for b in 0..<blocks {
            let block = row + b * blockBytes
            let d = loadHalf(block), dmin = loadHalf(block + 2)
            let (sc, m) = kScalesAndMins(block + 4)
            let dx = UnsafeRawPointer(xd + 8 * b).loadUnaligned(as: SIMD8<Float>.self)
            let factors = sc * dx * d  // d·sc_j·dx_j, lane j
            minTerms += m * dmin * blockSums8(dx, xs, 8 * b)
            let highBits = qhOffset.map { load256(block + $0) } ?? _mm256_setzero_si256()
            for pair in 0..<4 {
                let packed = load256(block + qsOffset + 32 * pair)
                for half in 0..<2 {
                    let j = 2 * pair + half
                    var q = _mm256_and_si256(half == 0 ? packed : _mm256_srli_epi16(packed, 4), low4)
                    if qhOffset != nil {
                        let bit = _mm256_and_si256(_mm256_srli_epi16(highBits, Int32(j)), _mm256_set1_epi8(1))
                        q = _mm256_or_si256(q, _mm256_slli_epi16(bit, 4))
                    }
                    let dot = _mm256_cvtepi32_ps(dotUnsignedSigned(q, load256(xq + 32 * (8 * b + j))))
                    let factor = _mm256_permutevar8x32_ps(factors, _mm256_set1_epi32(Int32(j)))
                    if half == 0 {
                        acc0 = _mm256_fmadd_ps(factor, dot, acc0)
                    } else {
                        acc1 = _mm256_fmadd_ps(factor, dot, acc1)
                    }
                }
            }
        }
        y[r] = horizontalSum(_mm256_add_ps(acc0, acc1)) - horizontalSum(minTerms)
    }
}

public func q4_KRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    kRows(w, rowBytes, start, end, blocks, 144, qhOffset: nil, xq, xd, xs, y)
}

public func q5_KRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    kRows(w, rowBytes, start, end, blocks, 176, qhOffset: 16, xq, xd, xs, y)
}

/// q6_K rows: in half g (128 weights) slice k (32 weights) takes nibble k / 2 of
/// ql[64g + 32(k % 2) ..< +32] and bits 2k, 2k+1 of qh[32g ..< +32] as bits 4–5; q − 32 times
/// d·scale, with one int8 scale per 16 weights (the two halves of each 32-weight slice). As in
/// `kRows`, the per-slice factors and the offset term are formed in vectors once per block.
public func q6_KRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    let low4 = _mm256_set1_epi8(15), low2 = _mm256_set1_epi8(3)
    // Lanes 0–3 take the scale of a slice's first 16 weights, lanes 4–7 that of its last 16.
    let firstHalf = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1)
    for r in start..<end {
        let row = w + r * rowBytes
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var offsetTerms = SIMD16<Float>()
        for b in 0..<blocks {
            let block = row + b * 210
            let d = loadHalf(block + 208)
            // The 16 int8 scales [slice, half] as floats, by vpmovsxbd (Swift's generic vector
            // conversion compiles to far slower code here).
            @inline(__always) func eightScales(_ offset: Int) -> SIMD8<Float> {
                let bytes = _mm_cvtsi64_si128(block.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes))
            }
            let scales = SIMD16<Float>(lowHalf: eightScales(192), highHalf: eightScales(200)) * d
            let dx8 = UnsafeRawPointer(xd + 8 * b).loadUnaligned(as: SIMD8<Float>.self)
            let dx = SIMD16<Float>(lowHalf: SIMD8(dx8[0], dx8[0], dx8[1], dx8[1], dx8[2], dx8[2], dx8[3], dx8[3]),
                                   highHalf: SIMD8(dx8[4], dx8[4], dx8[5], dx8[5], dx8[6], dx8[6], dx8[7], dx8[7]))
            let factors = scales * dx  // d·scale·dx per half slice
            let sums = UnsafeRawPointer(xs + 16 * b)
            let halfSums = SIMD16<Float>(lowHalf: _mm256_cvtepi32_ps(load256(sums)),
                                         highHalf: _mm256_cvtepi32_ps(load256(sums + 32)))
            offsetTerms += 32 * factors * halfSums
            let lowFactors = factors.lowHalf   // slices 0–3
            let highFactors = factors.highHalf // slices 4–7
            for g in 0..<2 {
                let high = load256(block + 128 + 32 * g)
                for k in 0..<4 {
                    let lowBytes = load256(block + 64 * g + 32 * (k % 2))
                    let low = _mm256_and_si256(k < 2 ? lowBytes : _mm256_srli_epi16(lowBytes, 4), low4)
                    let top = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, Int32(2 * k)), low2), 4)
                    let q = _mm256_or_si256(low, top)  // 0...63
                    let a = 8 * b + 4 * g + k      // activation block
                    let pick = _mm256_add_epi32(firstHalf, _mm256_set1_epi32(Int32(2 * k)))
                    let factor = _mm256_permutevar8x32_ps(g == 0 ? lowFactors : highFactors, pick)
                    let dot = _mm256_cvtepi32_ps(dotUnsignedSigned(q, load256(xq + 32 * a)))
                    if k % 2 == 0 { acc0 = _mm256_fmadd_ps(factor, dot, acc0) } else { acc1 = _mm256_fmadd_ps(factor, dot, acc1) }
                }
            }
        }
        y[r] = horizontalSum(_mm256_add_ps(acc0, acc1)) - horizontalSum(offsetTerms)
    }
}
#endif
