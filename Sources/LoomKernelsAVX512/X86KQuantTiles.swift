// Prompt-time (batch > 1) kernels for the 256-weight K formats (q4_K, q5_K, q6_K), AVX-512 VNNI:
// a tile of 4 weight rows × 4 activation rows, as X86QuantTiles.swift does for 32-weight blocks.
// The row kernels unpack every 32-weight slice and decode its 6-bit scale again for each
// activation row; here each slice of four weight rows is unpacked and scaled once and meets four
// activation blocks. The affine parts (q4_K/q5_K mins, q6_K's offset of 32) are per-16 constants
// times dx·Σq, accumulated four activation rows at a time in 128-bit FMAs.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Slice `j` (0..<8) of one K block: weights as unsigned bytes, the per-lane scale (lanes 0–3
/// cover weights 0–15, lanes 4–7 weights 16–31), and the constants c₀, c₁ that multiply Σx over
/// weights 0–15 and 16–31: Σ w·x = Σ scale·u·x + c₀·Σx₀ + c₁·Σx₁.
typealias KSlice = (_ block: UnsafeRawPointer, _ j: Int) -> (u: __m256i, scale: __m256, low: Float, high: Float)

/// y[c, r] for r in rowStart..<rowEnd (a multiple of 4) and c in colStart..<colEnd (a multiple
/// of 4), with `superBlocks` K blocks per row; activations `xq` [batch, cols], `xd` [batch,
/// cols/32], `xs` [batch, cols/16]; y [batch, rows].
@inline(__always)
func kTileRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int,
               _ colStart: Int, _ colEnd: Int, _ superBlocks: Int, _ blockBytes: Int,
               _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
               _ y: UnsafeMutablePointer<Float>, _ slice: KSlice) {
    let cols = 256 * superBlocks, slices = 8 * superBlocks
    var r = rowStart
    while r < rowEnd {
        let w0 = w + r * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes
        var c = colStart
        while c < colEnd {
            // acc[i][j]: weight row r+i, activation row c+j.
            var a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00
            var a10 = a00, a11 = a00, a12 = a00, a13 = a00
            var a20 = a00, a21 = a00, a22 = a00, a23 = a00
            var a30 = a00, a31 = a00, a32 = a00, a33 = a00
            // k[i] lane j: the affine terms of weight row r+i against activation row c+j.
            var k0 = _mm_setzero_ps(), k1 = k0, k2 = k0, k3 = k0
            let x0 = xq + c * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols
            let d0 = xd + c * slices, d1 = d0 + slices, d2 = d1 + slices, d3 = d2 + slices
            let s0 = xs + 2 * c * slices, s1 = s0 + 2 * slices, s2 = s1 + 2 * slices, s3 = s2 + 2 * slices
            for b in 0..<superBlocks {
                let o = b * blockBytes
                for j in 0..<8 {
                    let a = 8 * b + j
                    let (u0, f0, l0, h0) = slice(w0 + o, j), (u1, f1, l1, h1) = slice(w1 + o, j)
                    let (u2, f2, l2, h2) = slice(w2 + o, j), (u3, f3, l3, h3) = slice(w3 + o, j)
                    let dx = _mm_setr_ps(d0[a], d1[a], d2[a], d3[a])
                    let low = _mm_mul_ps(dx, _mm_cvtepi32_ps(_mm_setr_epi32(s0[2 * a], s1[2 * a], s2[2 * a], s3[2 * a])))
                    let high = _mm_mul_ps(dx, _mm_cvtepi32_ps(_mm_setr_epi32(s0[2 * a + 1], s1[2 * a + 1], s2[2 * a + 1], s3[2 * a + 1])))
                    k0 = _mm_fmadd_ps(_mm_set1_ps(l0), low, _mm_fmadd_ps(_mm_set1_ps(h0), high, k0))
                    k1 = _mm_fmadd_ps(_mm_set1_ps(l1), low, _mm_fmadd_ps(_mm_set1_ps(h1), high, k1))
                    k2 = _mm_fmadd_ps(_mm_set1_ps(l2), low, _mm_fmadd_ps(_mm_set1_ps(h2), high, k2))
                    k3 = _mm_fmadd_ps(_mm_set1_ps(l3), low, _mm_fmadd_ps(_mm_set1_ps(h3), high, k3))
                    @inline(__always) func column(_ x: UnsafePointer<Int8>, _ dx: Float,
                                                  _ c0: inout __m256, _ c1: inout __m256, _ c2: inout __m256, _ c3: inout __m256) {
                        let xv = load256(x + 32 * a)
                        let bx = _mm256_set1_ps(dx)
                        c0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dotUnsignedSigned(u0, xv)), _mm256_mul_ps(f0, bx), c0)
                        c1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dotUnsignedSigned(u1, xv)), _mm256_mul_ps(f1, bx), c1)
                        c2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dotUnsignedSigned(u2, xv)), _mm256_mul_ps(f2, bx), c2)
                        c3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dotUnsignedSigned(u3, xv)), _mm256_mul_ps(f3, bx), c3)
                    }
                    column(x0, d0[a], &a00, &a10, &a20, &a30)
                    column(x1, d1[a], &a01, &a11, &a21, &a31)
                    column(x2, d2[a], &a02, &a12, &a22, &a32)
                    column(x3, d3[a], &a03, &a13, &a23, &a33)
                }
            }
            @inline(__always) func store(_ i: Int, _ k: __m128, _ c0: __m256, _ c1: __m256, _ c2: __m256, _ c3: __m256) {
                y[c * rows + r + i] = horizontalSum(c0) + k[0]
                y[(c + 1) * rows + r + i] = horizontalSum(c1) + k[1]
                y[(c + 2) * rows + r + i] = horizontalSum(c2) + k[2]
                y[(c + 3) * rows + r + i] = horizontalSum(c3) + k[3]
            }
            store(0, k0, a00, a01, a02, a03)
            store(1, k1, a10, a11, a12, a13)
            store(2, k2, a20, a21, a22, a23)
            store(3, k3, a30, a31, a32, a33)
            c += 4
        }
        r += 4
    }
}

/// Slice j of a q4_K (`qh` nil) or q5_K block: nibble j % 2 of qs[32·(j / 2) ..< +32], plus bit j
/// of qh as bit 4 for q5_K; weight = d·sc_j·q − dmin·m_j.
@inline(__always)
func kSlice(_ block: UnsafeRawPointer, _ j: Int, qhOffset: Int?) -> (u: __m256i, scale: __m256, low: Float, high: Float) {
    let qsOffset = qhOffset == nil ? 16 : 48
    let packed = load256(block + qsOffset + 32 * (j / 2))
    var u = _mm256_and_si256(j % 2 == 0 ? packed : _mm256_srli_epi16(packed, 4), _mm256_set1_epi8(15))
    if let qhOffset {
        let bit = _mm256_and_si256(_mm256_srli_epi16(load256(block + qhOffset), Int32(j)), _mm256_set1_epi8(1))
        u = _mm256_or_si256(u, _mm256_slli_epi16(bit, 4))
    }
    let (sc, m) = kScaleMin(block + 4, j)
    let minimum = -loadHalf(block + 2) * m
    return (u, _mm256_set1_ps(loadHalf(block) * sc), minimum, minimum)
}

public func q4_KTile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                     _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    kTileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, 144, xq, xd, xs, y) { kSlice($0, $1, qhOffset: nil) }
}

public func q5_KTile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                     _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    kTileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, 176, xq, xd, xs, y) { kSlice($0, $1, qhOffset: 16) }
}

public func q6_KTile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                     _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    kTileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, 210, xq, xd, xs, y) { q6Slice($0, $1) }
}

/// Slice j = 4g + k of a q6_K block: nibble k / 2 of ql[64g + 32(k % 2) ..< +32] and bits 2k,
/// 2k+1 of qh[32g ..< +32] as bits 4–5; weight = d·scale₁₆·(q − 32), one int8 scale per 16.
@inline(__always)
func q6Slice(_ block: UnsafeRawPointer, _ j: Int) -> (u: __m256i, scale: __m256, low: Float, high: Float) {
    let g = j / 4, k = j % 4
    let lowBytes = load256(block + 64 * g + 32 * (k % 2))
    let low = _mm256_and_si256(k < 2 ? lowBytes : _mm256_srli_epi16(lowBytes, 4), _mm256_set1_epi8(15))
    let top = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(load256(block + 128 + 32 * g), Int32(2 * k)), _mm256_set1_epi8(3)), 4)
    let d = loadHalf(block + 208)
    let scaleIndex = 192 + 8 * g + 2 * k
    let first = d * Float(block.load(fromByteOffset: scaleIndex, as: Int8.self))
    let second = d * Float(block.load(fromByteOffset: scaleIndex + 1, as: Int8.self))
    return (_mm256_or_si256(low, top), _mm256_set_m128(_mm_set1_ps(second), _mm_set1_ps(first)), -32 * first, -32 * second)
}
#endif
