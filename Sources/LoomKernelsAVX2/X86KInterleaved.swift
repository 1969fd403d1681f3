// q4_K, q5_K, q6_K and iq4_xs weights repacked at load into groups of 8 rows (the "x8" layouts, as
// X86Interleaved.swift does for q8_0/q4_0/q5_0). Compiled twice: with AVX2 and with AVX-512 VNNI
// (symlink), see `dpbusd`.
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
//
// q5_K unit, 1408 bytes (8 native blocks of 176): d, dmin and the scale words as in q4_K, then
//   [128, 1408)  8 records of 160 bytes, record c < 8 at 128 + 160c: row i's qh[4c ..< +4] at +4i,
//                then for pair p < 4 its qs[32p + 4c ..< +4] at +32 + 32p + 4i
// Native q5_K: slice j is nibble j % 2 of qs[32(j / 2) ..< +32] plus bit j of qh[0 ..< 32] as bit 4.
// Decode walks the records in order, all eight slices at once (see q6_K on why the order matters).
//
// q6_K unit, 1680 bytes (8 native blocks of 210), every field moved as it is:
//   [0, 16)      the 8 rows' f16 d
//   [16, 144)    the int8 scales: row i's scale of sub-block s (16 weights) at 16 + 8s + i
//   [144, 1680)  16 records of 96 bytes, record 8n + c for half n < 2 and chunk c < 8 at
//                144 + 96(8n + c): row i's qh[32n + 4c ..< +4] at +4i, its ql[64n + 4c ..< +4] at
//                +32 + 4i, its ql[64n + 32 + 4c ..< +4] at +64 + 4i
// Native q6_K: in half n (128 weights), slice k (32 weights) takes nibble k / 2 of
// ql[64n + 32(k % 2) ..< +32] and bits 2k, 2k+1 of qh[32n ..< +32]; weight = d·scale·(q − 32).
// A record holds everything four slices need for four weights, so decode reads each unit
// front to back: with the high bits in a region of their own, read alongside the nibbles,
// decode streamed from memory at half the speed of the native layout (the prefetchers lost
// the pattern), though it was twice as fast from cache.
//
// iq4_xs unit, 1088 bytes (8 native blocks of 136):
//   [0, 16)      the 8 rows' f16 d
//   [16, 32)     row i's scales_h (u16) at 16 + 2i
//   [32, 64)     row i's scales_l (4 bytes) at 32 + 4i
//   [64, 1088)   row i's qs[16j + 4c ..< +4] at 64 + 128j + 32c + 4i for slice j < 8, chunk c < 4:
//                low nibbles are weights 4c..<4c+4 of slice j, high nibbles weights 16 + 4c..<+4
// Slice j's scale is d·(ls_j − 32); the nibbles index ggml's non-linear table, looked up as
// value + 128 (q8_0's unsigned bytes, see `dotQ8Bytes`).
//
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
    let q: UnsafePointer<Int8>   // [256]
    let d: UnsafePointer<Float>  // [8] the slice scales dx_j, broadcast from memory where used
    let dxSums: __m256           // [8]

    /// Block `b` of activation row `c` of a [batch, 256·blocks] `.blocks` quantization.
    @inline(__always)
    init(_ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, row c: Int, block b: Int, blocks: Int) {
        q = xq + 256 * (c * blocks + b)
        d = xd + 8 * (c * blocks + b)
        dxSums = blockSums8(UnsafeRawPointer(d).loadUnaligned(as: SIMD8<Float>.self), xs + 16 * (c * blocks + b), 0)
    }
}

/// The running sums of one activation row against one unit: the integer dot products of the
/// current pair of slices, Σ_j dot_j·sc_j·dx_j and Σ_j m_j·dx_j·Σq_j, per row of the group.
struct KUnitSums {
    var even = _mm256_setzero_si256(), odd = _mm256_setzero_si256()
    var scaled = _mm256_setzero_ps(), mins = _mm256_setzero_ps()

    /// Chunks c and c + 1 of pair p, each as its (slice 2p, slice 2p + 1) values.
    @inline(__always) mutating func addChunks(_ chunk0: (__m256i, __m256i), _ chunk1: (__m256i, __m256i), _ x: KActivationBlock,
                                              pair p: Int, chunk c: Int) {
        even = dot2(even, chunk0.0, broadcast4(x.q, 64 * p + 4 * c), chunk1.0, broadcast4(x.q, 64 * p + 4 * c + 4))
        odd = dot2(odd, chunk0.1, broadcast4(x.q, 64 * p + 32 + 4 * c), chunk1.1, broadcast4(x.q, 64 * p + 32 + 4 * c + 4))
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
        scaled = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(scaleMin.0, _mm256_set1_ps(x.d[j])), scaled)
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

    /// The 8 rows' scale and min of slice `j`.
    @inline(__always) func scaleMin(_ j: Int) -> (__m256, __m256) { q4KScaleMin(u0, u1, u2, j) }
}

/// Chunk c of pair p of a unit as unsigned bytes: (slice 2p, slice 2p + 1) weights 4c..<4c+4 of each row.
@inline(__always) func q4KChunk(_ unit: UnsafeRawPointer, pair p: Int, chunk c: Int) -> (__m256i, __m256i) {
    let low4 = _mm256_set1_epi8(15)
    let v = load256(unit + 128 + 256 * p + 32 * c)
    return (_mm256_and_si256(v, low4), _mm256_and_si256(_mm256_srli_epi16(v, 4), low4))
}

/// One q4_K or q5_K unit against four activation rows, pair by pair: each chunk (from `chunk`,
/// given pair and chunk index) is unpacked once for all four, and each slice's scales and mins
/// are decoded once.
@inline(__always)
func affineKUnit4(_ unit: UnsafeRawPointer, _ x: (KActivationBlock, KActivationBlock, KActivationBlock, KActivationBlock),
                  _ acc: inout (__m256, __m256, __m256, __m256), chunk: (Int, Int) -> (__m256i, __m256i)) {
    let header = KUnitHeader(unit)
    var s0 = KUnitSums(), s1 = KUnitSums(), s2 = KUnitSums(), s3 = KUnitSums()
    for p in 0..<4 {
        for c in stride(from: 0, to: 8, by: 2) {
            let chunk0 = chunk(p, c), chunk1 = chunk(p, c + 1)
            s0.addChunks(chunk0, chunk1, x.0, pair: p, chunk: c)
            s1.addChunks(chunk0, chunk1, x.1, pair: p, chunk: c)
            s2.addChunks(chunk0, chunk1, x.2, pair: p, chunk: c)
            s3.addChunks(chunk0, chunk1, x.3, pair: p, chunk: c)
        }
        let even = header.scaleMin(2 * p), odd = header.scaleMin(2 * p + 1)
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

/// One K format's x8 unit kernels, for `kInterleavedRows`.
protocol KUnitKernel {
    associatedtype Activation
    /// Bytes of one (8-row group, 256-weight block) unit.
    static var unitBytes: Int { get }
    /// Block `b` of activation row `c` of a [batch, 256·blocks] `.blocks` quantization.
    static func activation(_ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                           row c: Int, block b: Int, blocks: Int) -> Activation
    /// acc + one unit's 8 products with one activation row.
    static func unit(_ unit: UnsafeRawPointer, _ x: Activation, _ acc: __m256) -> __m256
    /// The same for four activation rows at once.
    static func unit4(_ unit: UnsafeRawPointer, _ x: (Activation, Activation, Activation, Activation),
                      _ acc: inout (__m256, __m256, __m256, __m256))
}

/// q4_K and q5_K read the plain activation block.
extension KUnitKernel where Activation == KActivationBlock {
    @inline(__always) static func activation(_ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                                             row c: Int, block b: Int, blocks: Int) -> KActivationBlock {
        KActivationBlock(xq, xd, xs, row: c, block: b, blocks: blocks)
    }
}

/// y[c·rows + 8g ..< +8] for groups g in groupStart..<groupEnd and activation rows c in
/// colStart..<colEnd, over `blocks` 256-weight blocks: four activation rows at a time, then one.
@inline(__always)
func kInterleavedRows<K: KUnitKernel>(_: K.Type, _ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int,
                                      _ colStart: Int, _ colEnd: Int, _ blocks: Int, _ xq: UnsafePointer<Int8>,
                                      _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    @inline(__always) func x(_ c: Int, _ b: Int) -> K.Activation { K.activation(xq, xd, xs, row: c, block: b, blocks: blocks) }
    for g in groupStart..<groupEnd {
        let group = w + g * blocks * K.unitBytes
        var c = colStart
        while c + 4 <= colEnd {
            var acc = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
            for b in 0..<blocks { K.unit4(group + b * K.unitBytes, (x(c, b), x(c + 1, b), x(c + 2, b), x(c + 3, b)), &acc) }
            y.store8(row: c, of: rows, group: g, acc.0)
            y.store8(row: c + 1, of: rows, group: g, acc.1)
            y.store8(row: c + 2, of: rows, group: g, acc.2)
            y.store8(row: c + 3, of: rows, group: g, acc.3)
            c += 4
        }
        while c < colEnd {
            var acc = _mm256_setzero_ps()
            for b in 0..<blocks { acc = K.unit(group + b * K.unitBytes, x(c, b), acc) }
            y.store8(row: c, of: rows, group: g, acc)
            c += 1
        }
    }
}

enum Q4KUnits: KUnitKernel {
    static var unitBytes: Int { 1152 }

    /// Pair by pair: the unit is laid out in that order.
    @inline(__always) static func unit(_ unit: UnsafeRawPointer, _ x: KActivationBlock, _ acc: __m256) -> __m256 {
        let header = KUnitHeader(unit)
        var sums = KUnitSums()
        for p in 0..<4 {
            for c in stride(from: 0, to: 8, by: 2) {
                sums.addChunks(q4KChunk(unit, pair: p, chunk: c), q4KChunk(unit, pair: p, chunk: c + 1), x, pair: p, chunk: c)
            }
            sums.finishPair(p, x, header.scaleMin(2 * p), header.scaleMin(2 * p + 1))
        }
        return sums.finish(acc, header.d, header.dmin)
    }

    @inline(__always) static func unit4(_ unit: UnsafeRawPointer, _ x: (KActivationBlock, KActivationBlock, KActivationBlock, KActivationBlock),
                                        _ acc: inout (__m256, __m256, __m256, __m256)) {
        affineKUnit4(unit, x, &acc) { q4KChunk(unit, pair: $0, chunk: $1) }
    }
}

/// The x8 kernels (the `InterleavedKernel` signature): K formats take `.blocks` activations, so
/// `xr` and `xrs` are unused, and `blocks` counts 256-weight blocks.
public func q4_Kx8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                       _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?, _ y: UnsafeMutablePointer<Float>) {
    kInterleavedRows(Q4KUnits.self, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, y)
}

// MARK: q5_K

/// Bit j of each byte of `bits` moved to bit 4 (0x10 or 0): the fifth bits of slice j. 16-bit
/// shifts suffice, as the mask drops whatever crosses from the neighbouring byte.
@inline(__always) func fifthBits(_ bits: __m256i, slice j: Int) -> __m256i {
    let mask = _mm256_set1_epi8(0x10)
    if j == 4 { return _mm256_and_si256(bits, mask) }
    return _mm256_and_si256(j < 4 ? _mm256_slli_epi16(bits, Int32(4 - j)) : _mm256_srli_epi16(bits, Int32(j - 4)), mask)
}

/// Pair p of record c of a q5_K unit as unsigned 5-bit values: (slice 2p, slice 2p + 1) weights
/// 4c..<4c+4 of each row.
@inline(__always) func q5KChunk(_ unit: UnsafeRawPointer, pair p: Int, chunk c: Int) -> (__m256i, __m256i) {
    let low4 = _mm256_set1_epi8(15)
    let record = unit + 128 + 160 * c
    let bits = load256(record), v = load256(record + 32 + 32 * p)
    return (_mm256_or_si256(_mm256_and_si256(v, low4), fifthBits(bits, slice: 2 * p)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), fifthBits(bits, slice: 2 * p + 1)))
}

enum Q5KUnits: KUnitKernel {
    static var unitBytes: Int { 1408 }

    /// Records in order, the four pairs' sums side by side.
    @inline(__always) static func unit(_ unit: UnsafeRawPointer, _ x: KActivationBlock, _ acc: __m256) -> __m256 {
        let header = KUnitHeader(unit)
        var s0 = KUnitSums(), s1 = KUnitSums(), s2 = KUnitSums(), s3 = KUnitSums()
        for c in stride(from: 0, to: 8, by: 2) {
            s0.addChunks(q5KChunk(unit, pair: 0, chunk: c), q5KChunk(unit, pair: 0, chunk: c + 1), x, pair: 0, chunk: c)
            s1.addChunks(q5KChunk(unit, pair: 1, chunk: c), q5KChunk(unit, pair: 1, chunk: c + 1), x, pair: 1, chunk: c)
            s2.addChunks(q5KChunk(unit, pair: 2, chunk: c), q5KChunk(unit, pair: 2, chunk: c + 1), x, pair: 2, chunk: c)
            s3.addChunks(q5KChunk(unit, pair: 3, chunk: c), q5KChunk(unit, pair: 3, chunk: c + 1), x, pair: 3, chunk: c)
        }
        // The pairs fold into one set of float sums in pair order, as `affineKUnit4` folds them,
        // so a row's result is the same alone or among four (batch invariance).
        s0.finishPair(0, x, header.scaleMin(0), header.scaleMin(1))
        for (p, pair) in [s1, s2, s3].enumerated() {
            s0.even = pair.even
            s0.odd = pair.odd
            s0.finishPair(p + 1, x, header.scaleMin(2 * p + 2), header.scaleMin(2 * p + 3))
        }
        return s0.finish(acc, header.d, header.dmin)
    }

    /// Pair by pair: for a batch the unit is in cache, so the order of reading does not matter.
    @inline(__always) static func unit4(_ unit: UnsafeRawPointer, _ x: (KActivationBlock, KActivationBlock, KActivationBlock, KActivationBlock),
                                        _ acc: inout (__m256, __m256, __m256, __m256)) {
        affineKUnit4(unit, x, &acc) { q5KChunk(unit, pair: $0, chunk: $1) }
    }
}

public func q5_Kx8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                       _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?, _ y: UnsafeMutablePointer<Float>) {
    kInterleavedRows(Q5KUnits.self, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, y)
}

// MARK: q6_K

/// The activation side of one q6_K block: `KActivationBlock` plus −16·Σq of its 16-value
/// sub-blocks as int16 pairs, lane j = (sub-block 2j, sub-block 2j + 1), for the offset terms.
struct Q6ActivationBlock {
    let x: KActivationBlock
    let offsetPairs: __m256i  // [8 × (int16, int16)]

    @inline(__always)
    init(_ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, row c: Int, block b: Int, blocks: Int) {
        x = KActivationBlock(xq, xd, xs, row: c, block: b, blocks: blocks)
        let sums = UnsafeRawPointer(xs + 16 * (c * blocks + b))
        // 16·|Σq| ≤ 16·16·127 fits 16 bits. packs interleaves by 128-bit halves (sums 0–3, 8–11 |
        // 4–7, 12–15); the permute puts the sub-blocks back in order.
        let zero = _mm256_setzero_si256()
        let low = _mm256_sub_epi32(zero, _mm256_slli_epi32(load256(sums), 4))
        let high = _mm256_sub_epi32(zero, _mm256_slli_epi32(load256(sums + 32), 4))
        offsetPairs = _mm256_permutevar8x32_epi32(_mm256_packs_epi32(low, high), _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7))
    }
}

/// The 8 rows' int8 scales of slice j's two 16-weight sub-blocks (2j, 2j + 1), widened as the
/// slice's dot products and its offset take them.
struct Q6SliceScales {
    let pairs: __m256i   // row i: (2·scale 2j, 2·scale 2j + 1) as int16, for the offset
    #if VNNI
    let first: __m256i   // row i: scale 2j as int32
    let second: __m256i  // row i: scale 2j + 1 as int32
    #else
    let first: __m256i   // row i: scale 2j in both int16 halves
    let second: __m256i  // row i: scale 2j + 1 in both int16 halves
    #endif

    @inline(__always) init(_ unit: UnsafeRawPointer, slice j: Int) {
        let v = load128(unit + 16 + 16 * j)  // 8 rows' scale 2j, then 8 rows' scale 2j + 1
        let upper = _mm_unpackhi_epi64(v, v)  // scale 2j + 1 in the low 8 bytes
        let scalePairs = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(v, upper))
        pairs = _mm256_add_epi16(scalePairs, scalePairs)
        #if VNNI
        first = _mm256_cvtepi8_epi32(v)
        second = _mm256_cvtepi8_epi32(upper)
        #else
        first = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(v, v))
        second = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(v, v))
        #endif
    }
}

/// Σ scale·q·x over one 32-weight slice of the 8 rows, q the unsigned 6-bit values (the offset
/// is taken away at the end). With VNNI each sub-block's plain dot product is one vpdpbusd a
/// chunk, scaled once at the end; on AVX2 the scale rides in the vpmaddwd that widens the 16-bit
/// pair sums anyway (|pair| ≤ 2·63·127, times a scale ≤ 128), so no multiply is left for the end.
struct Q6SliceDot {
    #if VNNI
    var first = _mm256_setzero_si256(), second = _mm256_setzero_si256()
    #else
    var dot = _mm256_setzero_si256()
    #endif

    /// Chunks c and c + 1 of sub-block `sub` (0: chunks 0–3, sub-block 2j; 1: chunks 4–7, 2j + 1),
    /// four weights a row each. On AVX2 the two chunks' pair sums add in 16 bits first
    /// (|sum| ≤ 2·2·63·127 < 2¹⁵), so two chunks take one widening.
    @inline(__always) mutating func add(_ q0: __m256i, _ x0: __m256i, _ q1: __m256i, _ x1: __m256i, subBlock sub: Int,
                                        _ scales: Q6SliceScales) {
        #if VNNI
        if sub == 0 { first = dpbusd(dpbusd(first, q0, x0), q1, x1) } else { second = dpbusd(dpbusd(second, q0, x0), q1, x1) }
        #else
        dot = _mm256_add_epi32(dot, _mm256_madd_epi16(pairSums2(q0, x0, q1, x1), sub == 0 ? scales.first : scales.second))
        #endif
    }

    /// The slice's Σ scale·(q − 32)·x, exact: |total| ≤ 32·32·127·128 < 2²⁴, so its float is too.
    /// The offset −32·Σ scale·Σq is one vpmaddwd of (2·scale) by (−16·Σq), both within 16 bits.
    @inline(__always) func total(_ scales: Q6SliceScales, offsetPairs: __m256i) -> __m256i {
        #if VNNI
        let dot = _mm256_add_epi32(_mm256_mullo_epi32(first, scales.first), _mm256_mullo_epi32(second, scales.second))
        #endif
        return _mm256_add_epi32(dot, _mm256_madd_epi16(scales.pairs, offsetPairs))
    }
}

/// One activation row's running sums against one q6_K unit: the integer dot products of the
/// current pair of slices (j and j + 2, the low and high nibbles of the same bytes) and
/// Σ_j dx_j·total_j over the slices done.
struct Q6UnitSums {
    var low = Q6SliceDot(), high = Q6SliceDot()
    var scaled = _mm256_setzero_ps()

    /// Chunks c and c + 1 (both in sub-block c / 4) of the pair whose low-nibble slice is `j` (the
    /// high nibbles are slice j + 2), each as its (low, high) values.
    @inline(__always) mutating func addChunks(_ chunk0: (__m256i, __m256i), _ chunk1: (__m256i, __m256i), _ x: KActivationBlock,
                                              lowSlice j: Int, chunk c: Int, _ scales: (Q6SliceScales, Q6SliceScales)) {
        low.add(chunk0.0, broadcast4(x.q, 32 * j + 4 * c), chunk1.0, broadcast4(x.q, 32 * j + 4 * c + 4), subBlock: c / 4, scales.0)
        high.add(chunk0.1, broadcast4(x.q, 32 * (j + 2) + 4 * c), chunk1.1, broadcast4(x.q, 32 * (j + 2) + 4 * c + 4),
                 subBlock: c / 4, scales.1)
    }

    /// Folds the pair's dot products into the float sum, slice j then j + 2, and clears them.
    @inline(__always) mutating func finishPair(_ x: Q6ActivationBlock, lowSlice j: Int, _ scales: (Q6SliceScales, Q6SliceScales)) {
        scaled = q6Fold(low, x, slice: j, scales.0, scaled)
        scaled = q6Fold(high, x, slice: j + 2, scales.1, scaled)
        low = Q6SliceDot()
        high = Q6SliceDot()
    }

    /// Takes over `other`'s pending dot products (its float sum stays its own).
    @inline(__always) mutating func take(_ other: Q6UnitSums) {
        low = other.low
        high = other.high
    }

    /// acc + d·Σ scaled.
    @inline(__always) func finish(_ acc: __m256, _ d: __m256) -> __m256 { _mm256_fmadd_ps(d, scaled, acc) }
}

/// scaled + dx_j·total_j.
@inline(__always) func q6Fold(_ dot: Q6SliceDot, _ x: Q6ActivationBlock, slice j: Int, _ scales: Q6SliceScales, _ scaled: __m256) -> __m256 {
    let total = dot.total(scales, offsetPairs: _mm256_permutevar8x32_epi32(x.offsetPairs, _mm256_set1_epi32(Int32(j))))
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(x.x.d[j]), scaled)
}

/// The scales of the pair whose low-nibble slice is j: slices j and j + 2.
@inline(__always) func q6KPairScales(_ unit: UnsafeRawPointer, lowSlice j: Int) -> (Q6SliceScales, Q6SliceScales) {
    (Q6SliceScales(unit, slice: j), Q6SliceScales(unit, slice: j + 2))
}

/// Chunk c of pair (n, h) of a q6_K unit as unsigned 6-bit values: (slice 4n + h, slice 4n + h + 2)
/// weights 4c..<4c+4 of each row.
@inline(__always) func q6KChunk(_ unit: UnsafeRawPointer, half n: Int, pair h: Int, chunk c: Int) -> (__m256i, __m256i) {
    let low4 = _mm256_set1_epi8(15), top = _mm256_set1_epi8(0x30)
    let record = unit + 144 + 96 * (8 * n + c)
    let bits = load256(record), nibbles = load256(record + 32 + 32 * h)
    // Bits 2k, 2k+1 of each byte moved to bits 4–5 (16-bit shifts: the mask drops what crosses
    // from the neighbouring byte): slice k = h takes them by a left shift of 4 − 2h, k = h + 2
    // by a right shift of 2h.
    let lowTop = _mm256_and_si256(h == 0 ? _mm256_slli_epi16(bits, 4) : _mm256_slli_epi16(bits, 2), top)
    let highTop = h == 0 ? _mm256_and_si256(bits, top) : _mm256_and_si256(_mm256_srli_epi16(bits, 2), top)
    return (_mm256_or_si256(_mm256_and_si256(nibbles, low4), lowTop),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(nibbles, 4), low4), highTop))
}

enum Q6KUnits: KUnitKernel {
    static var unitBytes: Int { 1680 }
    @inline(__always) static func activation(_ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                                             row c: Int, block b: Int, blocks: Int) -> Q6ActivationBlock {
        Q6ActivationBlock(xq, xd, xs, row: c, block: b, blocks: blocks)
    }

    /// One q6_K unit against one activation row: acc + the 8 rows' products. Both pairs of a half
    /// advance together, so the unit is read in order.
    @inline(__always) static func unit(_ unit: UnsafeRawPointer, _ x: Q6ActivationBlock, _ acc: __m256) -> __m256 {
        var first = Q6UnitSums(), second = Q6UnitSums()  // pairs (k 0, 2) and (k 1, 3) of each half
        for n in 0..<2 {
            let firstScales = q6KPairScales(unit, lowSlice: 4 * n), secondScales = q6KPairScales(unit, lowSlice: 4 * n + 1)
            for c in stride(from: 0, to: 8, by: 2) {
                first.addChunks(q6KChunk(unit, half: n, pair: 0, chunk: c), q6KChunk(unit, half: n, pair: 0, chunk: c + 1), x.x,
                                lowSlice: 4 * n, chunk: c, firstScales)
                second.addChunks(q6KChunk(unit, half: n, pair: 1, chunk: c), q6KChunk(unit, half: n, pair: 1, chunk: c + 1), x.x,
                                 lowSlice: 4 * n + 1, chunk: c, secondScales)
            }
            // Both pairs fold into one float sum, first then second, as `unit4` folds them: a
            // row's result is the same alone or among four (batch invariance).
            first.finishPair(x, lowSlice: 4 * n, firstScales)
            first.take(second)
            first.finishPair(x, lowSlice: 4 * n + 1, secondScales)
            second = Q6UnitSums()
        }
        return first.finish(acc, _mm256_cvtph_ps(load128(unit)))
    }

    /// One q6_K unit against four activation rows, each chunk unpacked once for all four.
    @inline(__always) static func unit4(_ unit: UnsafeRawPointer, _ x: (Q6ActivationBlock, Q6ActivationBlock, Q6ActivationBlock, Q6ActivationBlock),
                                        _ acc: inout (__m256, __m256, __m256, __m256)) {
        var s0 = Q6UnitSums(), s1 = Q6UnitSums(), s2 = Q6UnitSums(), s3 = Q6UnitSums()
        for n in 0..<2 {
            for h in 0..<2 {
                let j = 4 * n + h
                let scales = q6KPairScales(unit, lowSlice: j)
                @inline(__always) func chunks(_ c: Int) {
                    let chunk0 = q6KChunk(unit, half: n, pair: h, chunk: c), chunk1 = q6KChunk(unit, half: n, pair: h, chunk: c + 1)
                    s0.addChunks(chunk0, chunk1, x.0.x, lowSlice: j, chunk: c, scales)
                    s1.addChunks(chunk0, chunk1, x.1.x, lowSlice: j, chunk: c, scales)
                    s2.addChunks(chunk0, chunk1, x.2.x, lowSlice: j, chunk: c, scales)
                    s3.addChunks(chunk0, chunk1, x.3.x, lowSlice: j, chunk: c, scales)
                }
                // Spelled out, so each call's sub-block (and its scale vector) is a constant.
                chunks(0)
                chunks(2)
                chunks(4)
                chunks(6)
                s0.finishPair(x.0, lowSlice: j, scales)
                s1.finishPair(x.1, lowSlice: j, scales)
                s2.finishPair(x.2, lowSlice: j, scales)
                s3.finishPair(x.3, lowSlice: j, scales)
            }
        }
        let d = _mm256_cvtph_ps(load128(unit))
        acc.0 = s0.finish(acc.0, d)
        acc.1 = s1.finish(acc.1, d)
        acc.2 = s2.finish(acc.2, d)
        acc.3 = s3.finish(acc.3, d)
    }
}

public func q6_Kx8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                       _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?, _ y: UnsafeMutablePointer<Float>) {
    kInterleavedRows(Q6KUnits.self, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, y)
}

// MARK: iq4_xs

/// The running sum of one activation row against one iq4_xs unit.
struct IQ4XSUnitSums {
    var dot = _mm256_setzero_si256()
    var acc: __m256

    /// Chunk c of slice j (its table bytes lo, hi) against the row's bytes.
    @inline(__always) mutating func addChunk(_ lo: __m256i, _ hi: __m256i, _ x: KActivationBlock, slice j: Int, chunk c: Int) {
        dot = dotQ8Bytes(dot, lo, broadcast4(x.q, 32 * j + 4 * c))
        dot = dotQ8Bytes(dot, hi, broadcast4(x.q, 32 * j + 16 + 4 * c))
    }

    /// Folds slice j into acc: scale·dx_j·(dot − q8Offset·Σq_j), the offset term in floats.
    @inline(__always) mutating func finishSlice(_ j: Int, _ x: KActivationBlock, _ scale: __m256) {
        let lane = _mm256_set1_epi32(Int32(j))
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(scale, _mm256_set1_ps(x.d[j])), acc)
        if q8Offset != 0 {
            acc = _mm256_fnmadd_ps(_mm256_mul_ps(scale, _mm256_set1_ps(Float(q8Offset))), _mm256_permutevar8x32_ps(x.dxSums, lane), acc)
        }
        dot = _mm256_setzero_si256()
    }
}

enum IQ4XSUnits: KUnitKernel {
    static var unitBytes: Int { 1088 }

    /// The unit's per-row d and packed scales, read once for its eight slices.
    struct Header {
        let d: __m256, low: __m256i, high: __m256i

        @inline(__always) init(_ unit: UnsafeRawPointer) {
            d = _mm256_cvtph_ps(load128(unit))
            low = load256(unit + 32)
            high = _mm256_cvtepu16_epi32(load128(unit + 16))
        }

        /// The 8 rows' scale of slice j: d·(ls_j − 32).
        @inline(__always) func scale(_ j: Int) -> __m256 {
            let ls = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(low, Int32(4 * j)), _mm256_set1_epi32(15)),
                                     _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(high, Int32(2 * j)), _mm256_set1_epi32(3)), 4))
            return _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(ls, _mm256_set1_epi32(32))))
        }
    }

    /// Chunk c of slice j as table bytes: (weights 4c..<4c+4, weights 16 + 4c..<+4) of each row.
    @inline(__always) static func chunk(_ unit: UnsafeRawPointer, slice j: Int, chunk c: Int) -> (__m256i, __m256i) {
        let table = iq4UnsignedTable()
        let low4 = _mm256_set1_epi8(15)
        let v = load256(unit + 64 + 128 * j + 32 * c)
        return (_mm256_shuffle_epi8(table, _mm256_and_si256(v, low4)),
                _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), low4)))
    }

    @inline(__always) static func unit(_ unit: UnsafeRawPointer, _ x: KActivationBlock, _ acc: __m256) -> __m256 {
        let header = Header(unit)
        var sums = IQ4XSUnitSums(acc: acc)
        for j in 0..<8 {
            for c in 0..<4 {
                let (lo, hi) = chunk(unit, slice: j, chunk: c)
                sums.addChunk(lo, hi, x, slice: j, chunk: c)
            }
            sums.finishSlice(j, x, header.scale(j))
        }
        return sums.acc
    }

    /// The same operations per row as `unit`, with each chunk unpacked once for four rows.
    @inline(__always) static func unit4(_ unit: UnsafeRawPointer, _ x: (KActivationBlock, KActivationBlock, KActivationBlock, KActivationBlock),
                                        _ acc: inout (__m256, __m256, __m256, __m256)) {
        let header = Header(unit)
        var s0 = IQ4XSUnitSums(acc: acc.0), s1 = IQ4XSUnitSums(acc: acc.1)
        var s2 = IQ4XSUnitSums(acc: acc.2), s3 = IQ4XSUnitSums(acc: acc.3)
        for j in 0..<8 {
            for c in 0..<4 {
                let (lo, hi) = chunk(unit, slice: j, chunk: c)
                s0.addChunk(lo, hi, x.0, slice: j, chunk: c)
                s1.addChunk(lo, hi, x.1, slice: j, chunk: c)
                s2.addChunk(lo, hi, x.2, slice: j, chunk: c)
                s3.addChunk(lo, hi, x.3, slice: j, chunk: c)
            }
            let sc = header.scale(j)
            s0.finishSlice(j, x.0, sc)
            s1.finishSlice(j, x.1, sc)
            s2.finishSlice(j, x.2, sc)
            s3.finishSlice(j, x.3, sc)
        }
        acc = (s0.acc, s1.acc, s2.acc, s3.acc)
    }
}

public func iq4_xsx8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                         _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                         _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?, _ y: UnsafeMutablePointer<Float>) {
    kInterleavedRows(IQ4XSUnits.self, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, y)
}
#endif
