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

/// q4_K (qh nil) and q5_K rows: slice j of a block is nibble j % 2 of qs[32·(j / 2) ..< +32],
/// plus bit j of qh[0..<32] as bit 4 for q5_K; weight = d·sc_j·q − dmin·m_j.
@inline(__always)
func kRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int, _ blockBytes: Int, qhOffset: Int?,
           _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    let low4 = _mm256_set1_epi8(15)
    let qsOffset = qhOffset == nil ? 16 : 48
    for r in start..<end {
        let row = w + r * rowBytes
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var minTerm: Float = 0
        for b in 0..<blocks {
            let block = row + b * blockBytes
            let d = loadHalf(block), dmin = loadHalf(block + 2)
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
                    let a = 8 * b + j  // activation block
                    let (sc, m) = kScaleMin(block + 4, j)
                    let dx = xd[a]
                    let dot = _mm256_cvtepi32_ps(dotUnsignedSigned(q, load256(xq + 32 * a)))
                    if half == 0 {
                        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d * sc * dx), dot, acc0)
                    } else {
                        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(d * sc * dx), dot, acc1)
                    }
                    minTerm += dmin * m * dx * Float(xs[2 * a] &+ xs[2 * a + 1])
                }
            }
        }
        y[r] = horizontalSum(_mm256_add_ps(acc0, acc1)) - minTerm
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
/// d·scale, with one int8 scale per 16 weights (the two halves of each 32-weight slice).
public func q6_KRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    let low4 = _mm256_set1_epi8(15), low2 = _mm256_set1_epi8(3)
    for r in start..<end {
        let row = w + r * rowBytes
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var offsetTerm: Float = 0
        for b in 0..<blocks {
            let block = row + b * 210
            let d = loadHalf(block + 208)
            for g in 0..<2 {
                let high = load256(block + 128 + 32 * g)
                for k in 0..<4 {
                    let lowBytes = load256(block + 64 * g + 32 * (k % 2))
                    let low = _mm256_and_si256(k < 2 ? lowBytes : _mm256_srli_epi16(lowBytes, 4), low4)
                    let top = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, Int32(2 * k)), low2), 4)
                    let q = _mm256_or_si256(low, top)  // 0...63
                    let a = 8 * b + 4 * g + k      // activation block
                    let scaleIndex = 8 * g + 2 * k
                    let s0 = d * Float(block.load(fromByteOffset: 192 + scaleIndex, as: Int8.self))
                    let s1 = d * Float(block.load(fromByteOffset: 192 + scaleIndex + 1, as: Int8.self))
                    let dx = xd[a]
                    let scales = _mm256_set_m128(_mm_set1_ps(s1 * dx), _mm_set1_ps(s0 * dx))
                    let dot = _mm256_cvtepi32_ps(dotUnsignedSigned(q, load256(xq + 32 * a)))
                    if k % 2 == 0 { acc0 = _mm256_fmadd_ps(scales, dot, acc0) } else { acc1 = _mm256_fmadd_ps(scales, dot, acc1) }
                    offsetTerm += 32 * dx * (s0 * Float(xs[2 * a]) + s1 * Float(xs[2 * a + 1]))
                }
            }
        }
        y[r] = horizontalSum(_mm256_add_ps(acc0, acc1)) - offsetTerm
    }
}
#endif
