// q4_K weights repacked at load into groups of 8 rows (the "x8" layout, as X86Interleaved.swift
// does for q8_0/q4_0/q5_0). Compiled twice: with AVX2 and with AVX-512 VNNI (symlink), see
// `dpbusd`.
//
// In the native layout a q4_K row kernel spends most of its time per 32-weight slice on
// turning one 8-lane integer dot product into a float and scaling it (9–18 GB/s per core);
// interleaved, lane i of every vector belongs to row i, so one vpdpbusd advances eight rows by
// four weights, and each slice's scales, mins and float work are shared by eight rows.
//
// Layout of one (8-row group, 256-weight block) unit, 1152 bytes (8 native blocks of 144):
//   [0, 16)      the 8 rows' f16 d
//   [16, 32)     the 8 rows' f16 dmin
//   [32, 128)    the packed 6-bit scales and mins: row i's bytes 4k..<4k+4 at 32 + 32k + 4i
//   [128, 1152)  the nibbles: row i's qs[32p + 4c ..< +4] at 128 + 256p + 32c + 4i, for pair
//                p < 4 and chunk c < 8: low nibbles are weights 4c..<4c+4 of slice 2p, high
//                nibbles those of slice 2p + 1
// Activations are rounded to 8-bit blocks of 32 (`Q8Activations`, `.blocks`).
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The scale and min of slice `j` for the 8 rows of a unit, as floats, from the rows' packed
/// words u0 = bytes 0–3, u1 = 4–7, u2 = 8–11 (see Dequantize.kScaleMin): slices 0–3 are the low six
/// bits of byte j of u0 (scales) and u1 (mins); slices 4–7 take their low four bits from the
/// nibbles of byte j − 4 of u2 and their top two from the top bits of byte j − 4 of u0 and u1.
@inline(__always)
func q4KScaleMin(_ u0: __m256i, _ u1: __m256i, _ u2: __m256i, _ j: Int) -> (__m256, __m256) {
    let six = _mm256_set1_epi32(63), four = _mm256_set1_epi32(15), two = _mm256_set1_epi32(3)
    if j < 4 {
        let shift = Int32(8 * j)
        return (_mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(u0, shift), six)),
                _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(u1, shift), six)))
    }
    let shift = Int32(8 * (j - 4))
    let scale = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u2, shift), four),
                                _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(u0, shift + 6), two), 4))
    let min = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u2, shift + 4), four),
                              _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(u1, shift + 6), two), 4))
    return (_mm256_cvtepi32_ps(scale), _mm256_cvtepi32_ps(min))
}

/// One activation row's view of one 256-value block: its bytes, the 8 slice scales dx_j and the
/// 8 products dx_j·Σq_j (for the min terms).
struct KActivationBlock {
    let q: UnsafePointer<Int8>  // [256]
    let dx: __m256              // [8]
    let dxSums: __m256          // [8]

    /// Block `b` of activation row `c` of a [batch, 256·blocks] `.blocks` quantization.
    @inline(__always)
    init(_ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, row c: Int, block b: Int, blocks: Int) {
        q = xq + 256 * (c * blocks + b)
        let scales = UnsafeRawPointer(xd + 8 * (c * blocks + b)).loadUnaligned(as: SIMD8<Float>.self)
        dx = unsafeBitCast(scales, to: __m256.self)
        dxSums = unsafeBitCast(blockSums8(scales, xs + 16 * (c * blocks + b), 0), to: __m256.self)
    }
}

/// The running sums of one activation row against one unit: the integer dot products of the
/// current pair of slices, Σ_j dot_j·sc_j·dx_j and Σ_j m_j·dx_j·Σq_j, per row of the group.
struct KUnitSums {
    var even = _mm256_setzero_si256(), odd = _mm256_setzero_si256()
    var scaled = _mm256_setzero_ps(), mins = _mm256_setzero_ps()

    @inline(__always) mutating func addChunk(_ lo: __m256i, _ hi: __m256i, _ x: KActivationBlock, pair p: Int, chunk c: Int) {
        even = dpbusd(even, lo, broadcast4(x.q, 64 * p + 4 * c))
        odd = dpbusd(odd, hi, broadcast4(x.q, 64 * p + 32 + 4 * c))
    }

    /// Folds the pair's dot products into the float sums and clears them.
    @inline(__always) mutating func finishPair(_ p: Int, _ x: KActivationBlock,
                                               _ evenScaleMin: (__m256, __m256), _ oddScaleMin: (__m256, __m256)) {
        fold(even, slice: 2 * p, x, evenScaleMin)
        fold(odd, slice: 2 * p + 1, x, oddScaleMin)
        even = _mm256_setzero_si256()
        odd = _mm256_setzero_si256()
    }

    @inline(__always) private mutating func fold(_ dot: __m256i, slice j: Int, _ x: KActivationBlock, _ scaleMin: (__m256, __m256)) {
        let lane = _mm256_set1_epi32(Int32(j))
        scaled = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(scaleMin.0, _mm256_permutevar8x32_ps(x.dx, lane)), scaled)
        mins = _mm256_fmadd_ps(scaleMin.1, _mm256_permutevar8x32_ps(x.dxSums, lane), mins)
    }

    /// acc + d·Σ scaled − dmin·Σ mins.
    @inline(__always) func finish(_ acc: __m256, _ d: __m256, _ dmin: __m256) -> __m256 {
        _mm256_fnmadd_ps(dmin, mins, _mm256_fmadd_ps(d, scaled, acc))
    }
}

/// The unit's per-row scales: d, dmin and the packed scale words.
struct KUnitHeader {
    let d: __m256, dmin: __m256
    let u0: __m256i, u1: __m256i, u2: __m256i

    @inline(__always) init(_ unit: UnsafeRawPointer) {
        d = _mm256_cvtph_ps(load128(unit))
        dmin = _mm256_cvtph_ps(load128(unit + 16))
        u0 = load256(unit + 32)
        u1 = load256(unit + 64)
        u2 = load256(unit + 96)
    }
}

/// Chunk c of pair p of a unit as unsigned bytes: (slice 2p, slice 2p + 1) weights 4c..<4c+4 of each row.
@inline(__always) func q4KChunk(_ unit: UnsafeRawPointer, pair p: Int, chunk c: Int) -> (__m256i, __m256i) {
    let low4 = _mm256_set1_epi8(15)
    let v = load256(unit + 128 + 256 * p + 32 * c)
    return (_mm256_and_si256(v, low4), _mm256_and_si256(_mm256_srli_epi16(v, 4), low4))
}

/// One unit against one activation row: acc + the 8 rows' products.
@inline(__always)
func q4KUnit(_ unit: UnsafeRawPointer, _ x: KActivationBlock, _ acc: __m256) -> __m256 {
    let header = KUnitHeader(unit)
    var sums = KUnitSums()
    for p in 0..<4 {
        for c in 0..<8 {
            let (lo, hi) = q4KChunk(unit, pair: p, chunk: c)
            sums.addChunk(lo, hi, x, pair: p, chunk: c)
        }
        sums.finishPair(p, x, q4KScaleMin(header.u0, header.u1, header.u2, 2 * p), q4KScaleMin(header.u0, header.u1, header.u2, 2 * p + 1))
    }
    return sums.finish(acc, header.d, header.dmin)
}

/// One unit against four activation rows: each chunk is loaded and unpacked once for all four,
/// and each slice's scales and mins are decoded once.
@inline(__always)
func q4KUnit4(_ unit: UnsafeRawPointer, _ x: (KActivationBlock, KActivationBlock, KActivationBlock, KActivationBlock),
              _ acc: inout (__m256, __m256, __m256, __m256)) {
    let header = KUnitHeader(unit)
    var s0 = KUnitSums(), s1 = KUnitSums(), s2 = KUnitSums(), s3 = KUnitSums()
    for p in 0..<4 {
        for c in 0..<8 {
            let (lo, hi) = q4KChunk(unit, pair: p, chunk: c)
            s0.addChunk(lo, hi, x.0, pair: p, chunk: c)
            s1.addChunk(lo, hi, x.1, pair: p, chunk: c)
            s2.addChunk(lo, hi, x.2, pair: p, chunk: c)
            s3.addChunk(lo, hi, x.3, pair: p, chunk: c)
        }
        let even = q4KScaleMin(header.u0, header.u1, header.u2, 2 * p), odd = q4KScaleMin(header.u0, header.u1, header.u2, 2 * p + 1)
        s0.finishPair(p, x.0, even, odd)
        s1.finishPair(p, x.1, even, odd)
        s2.finishPair(p, x.2, even, odd)
        s3.finishPair(p, x.3, even, odd)
    }
    acc.0 = s0.finish(acc.0, header.d, header.dmin)
    acc.1 = s1.finish(acc.1, header.d, header.dmin)
    acc.2 = s2.finish(acc.2, header.d, header.dmin)
    acc.3 = s3.finish(acc.3, header.d, header.dmin)
}

/// y[c·rows + 8g ..< +8] for groups g in groupStart..<groupEnd and activation rows c in
/// colStart..<colEnd, over `blocks` 256-weight blocks (the `InterleavedKernel` signature; q4_K
/// takes `.blocks` activations, so `xr` and `xrs` are unused).
public func q4_Kx8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                       _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?, _ y: UnsafeMutablePointer<Float>) {
    let unitBytes = 1152
    @inline(__always) func x(_ c: Int, _ b: Int) -> KActivationBlock { KActivationBlock(xq, xd, xs, row: c, block: b, blocks: blocks) }
    for g in groupStart..<groupEnd {
        let group = w + g * blocks * unitBytes
        var c = colStart
        while c + 4 <= colEnd {
            var acc = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
            for b in 0..<blocks {
                q4KUnit4(group + b * unitBytes, (x(c, b), x(c + 1, b), x(c + 2, b), x(c + 3, b)), &acc)
            }
            y.store8(row: c, of: rows, group: g, acc.0)
            y.store8(row: c + 1, of: rows, group: g, acc.1)
            y.store8(row: c + 2, of: rows, group: g, acc.2)
            y.store8(row: c + 3, of: rows, group: g, acc.3)
            c += 4
        }
        while c < colEnd {
            var acc = _mm256_setzero_ps()
            for b in 0..<blocks { acc = q4KUnit(group + b * unitBytes, x(c, b), acc) }
            y.store8(row: c, of: rows, group: g, acc)
            c += 1
        }
    }
}
#endif
