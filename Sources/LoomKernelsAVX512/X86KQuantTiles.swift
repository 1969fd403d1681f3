// Prompt-time (batch > 1) kernels for the 256-weight K formats (q4_K, q5_K, q6_K), AVX-512 VNNI or AVX2,
// on the 4×4 slice tile of X86QuantTiles.swift (used when rows are not a multiple of 8; groups
// of 8 rows take X86KQuantExpanded.swift). The row kernels unpack every 32-weight slice and
// decode its 6-bit scale again for each activation row; here each slice of four weight rows is
// unpacked and scaled once and meets four activation blocks. The affine parts (q4_K/q5_K mins,
// q6_K's offset of 32) are per-16 constants times dx·Σq.
#if arch(x86_64)
import _Builtin_intrinsics.intel

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
    sliceTileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, slicesPerBlock: 8, 144, xq, xd, xs, y) { kSlice($0, $1, qhOffset: nil) }
}

public func q5_KTile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                     _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    sliceTileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, slicesPerBlock: 8, 176, xq, xd, xs, y) { kSlice($0, $1, qhOffset: 16) }
}

public func q6_KTile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                     _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    sliceTileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, slicesPerBlock: 8, 210, xq, xd, xs, y) { q6Slice($0, $1) }
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
