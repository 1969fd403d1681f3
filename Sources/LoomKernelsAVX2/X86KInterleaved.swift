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
    let q: UnsafePointer<Int8>  // [256]
    let dx: __m256              // [8]
    let dxSums: __m256          // [8]

    /// Block `b` of activation row `c` of a [batch, 256·blocks] `.blocks` quantization.
    @inline(__always)
    init(_ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, row c: Int, block b: Int, blocks: Int) {
        q = xq + 256 * (c * blocks + b)
        let scales = UnsafeRawPointer(xd + 8 * (c * blocks + b)).loadUnaligned(as: SIMD8<Float>.self)
        dx = scales
        dxSums = blockSums8(scales, xs + 16 * (c * blocks + b), 0)
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
        for c in 0..<8 {
            let (lo, hi) = chunk(p, c)
            s0.addChunk(lo, hi, x.0, pair: p, chunk: c)
            s1.addChunk(lo, hi, x.1, pair: p, chunk: c)
            s2.addChunk(lo, hi, x.2, pair: p, chunk: c)
            s3.addChunk(lo, hi, x.3, pair: p, chunk: c)
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
            for c in 0..<8 {
                let (lo, hi) = q4KChunk(unit, pair: p, chunk: c)
                sums.addChunk(lo, hi, x, pair: p, chunk: c)
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
        for c in 0..<8 {
            var (lo, hi) = q5KChunk(unit, pair: 0, chunk: c)
            s0.addChunk(lo, hi, x, pair: 0, chunk: c)
            (lo, hi) = q5KChunk(unit, pair: 1, chunk: c)
            s1.addChunk(lo, hi, x, pair: 1, chunk: c)
            (lo, hi) = q5KChunk(unit, pair: 2, chunk: c)
            s2.addChunk(lo, hi, x, pair: 2, chunk: c)
            (lo, hi) = q5KChunk(unit, pair: 3, chunk: c)
            s3.addChunk(lo, hi, x, pair: 3, chunk: c)
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

/// The activation side of one q6_K block: `KActivationBlock` plus dx·Σq per 16 values (the
/// offset terms −32·scale·dx·Σq).
struct Q6ActivationBlock {
    let x: KActivationBlock
    let dxSums16: (__m256, __m256)  // sub-blocks 0–7, 8–15

    @inline(__always)
    init(_ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, row c: Int, block b: Int, blocks: Int) {
        x = KActivationBlock(xq, xd, xs, row: c, block: b, blocks: blocks)
        let sums = UnsafeRawPointer(xs + 16 * (c * blocks + b))
        // dx of sub-block s is dx[s / 2]: lanes (0,0,1,1,2,2,3,3) and (4,4,5,5,6,6,7,7).
        let low = _mm256_permutevar8x32_ps(x.dx, _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3))
        let high = _mm256_permutevar8x32_ps(x.dx, _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7))
        dxSums16 = (_mm256_mul_ps(low, _mm256_cvtepi32_ps(load256(sums))), _mm256_mul_ps(high, _mm256_cvtepi32_ps(load256(sums + 32))))
    }
}

/// One activation row's running sums against one q6_K unit: the integer dot products of the
/// current pair of slices (each split into its two 16-weight sub-blocks), Σ dx·scale·dot, and
/// Σ scale·dx·Σq for the offset.
struct Q6UnitSums {
    var lowFirst = _mm256_setzero_si256(), lowSecond = _mm256_setzero_si256()
    var highFirst = _mm256_setzero_si256(), highSecond = _mm256_setzero_si256()
    var scaled = _mm256_setzero_ps(), offsets = _mm256_setzero_ps()

    /// Chunk c of the pair whose low-nibble slice is `lowSlice` (the high nibbles are slice + 2).
    @inline(__always) mutating func addChunk(_ lo: __m256i, _ hi: __m256i, _ x: KActivationBlock, lowSlice j: Int, chunk c: Int) {
        let xLow = broadcast4(x.q, 32 * j + 4 * c), xHigh = broadcast4(x.q, 32 * (j + 2) + 4 * c)
        if c < 4 {
            lowFirst = dpbusd(lowFirst, lo, xLow)
            highFirst = dpbusd(highFirst, hi, xHigh)
        } else {
            lowSecond = dpbusd(lowSecond, lo, xLow)
            highSecond = dpbusd(highSecond, hi, xHigh)
        }
    }

    /// Folds the pair's dot products (slices j and j + 2) into the float sums and clears them.
    @inline(__always) mutating func finishPair(_ unit: UnsafeRawPointer, _ x: Q6ActivationBlock, lowSlice j: Int) {
        fold(unit, lowFirst, lowSecond, slice: j, x)
        fold(unit, highFirst, highSecond, slice: j + 2, x)
        lowFirst = _mm256_setzero_si256(); lowSecond = lowFirst; highFirst = lowFirst; highSecond = lowFirst
    }

    @inline(__always) private mutating func fold(_ unit: UnsafeRawPointer, _ first: __m256i, _ second: __m256i, slice j: Int,
                                                 _ x: Q6ActivationBlock) {
        // The rows' int8 scales of sub-blocks 2j and 2j + 1; |dot| ≤ 16·63·128, times 127 fits in 32 bits.
        let scaleFirst = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(unit.loadUnaligned(fromByteOffset: 16 + 16 * j, as: Int64.self)))
        let scaleSecond = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(unit.loadUnaligned(fromByteOffset: 24 + 16 * j, as: Int64.self)))
        let dot = _mm256_add_epi32(_mm256_mullo_epi32(first, scaleFirst), _mm256_mullo_epi32(second, scaleSecond))
        scaled = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_permutevar8x32_ps(x.x.dx, _mm256_set1_epi32(Int32(j))), scaled)
        let sums = j < 4 ? x.dxSums16.0 : x.dxSums16.1
        let lane = Int32(2 * (j % 4))
        offsets = _mm256_fmadd_ps(_mm256_cvtepi32_ps(scaleFirst), _mm256_permutevar8x32_ps(sums, _mm256_set1_epi32(lane)), offsets)
        offsets = _mm256_fmadd_ps(_mm256_cvtepi32_ps(scaleSecond), _mm256_permutevar8x32_ps(sums, _mm256_set1_epi32(lane + 1)), offsets)
    }

    /// Takes over `other`'s pending dot products (its float sums stay its own).
    @inline(__always) mutating func take(_ other: Q6UnitSums) {
        lowFirst = other.lowFirst; lowSecond = other.lowSecond; highFirst = other.highFirst; highSecond = other.highSecond
    }

    /// acc + d·(Σ scaled − 32·Σ offsets).
    @inline(__always) func finish(_ acc: __m256, _ d: __m256) -> __m256 {
        _mm256_fmadd_ps(d, _mm256_fnmadd_ps(_mm256_set1_ps(32), offsets, scaled), acc)
    }
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
            for c in 0..<8 {
                let (lo0, hi0) = q6KChunk(unit, half: n, pair: 0, chunk: c)
                let (lo1, hi1) = q6KChunk(unit, half: n, pair: 1, chunk: c)
                first.addChunk(lo0, hi0, x.x, lowSlice: 4 * n, chunk: c)
                second.addChunk(lo1, hi1, x.x, lowSlice: 4 * n + 1, chunk: c)
            }
            // Both pairs fold into one set of float sums, first then second, as `unit4` folds
            // them: a row's result is the same alone or among four (batch invariance).
            first.finishPair(unit, x, lowSlice: 4 * n)
            first.take(second)
            first.finishPair(unit, x, lowSlice: 4 * n + 1)
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
                for c in 0..<8 {
                    let (lo, hi) = q6KChunk(unit, half: n, pair: h, chunk: c)
                    s0.addChunk(lo, hi, x.0.x, lowSlice: j, chunk: c)
                    s1.addChunk(lo, hi, x.1.x, lowSlice: j, chunk: c)
                    s2.addChunk(lo, hi, x.2.x, lowSlice: j, chunk: c)
                    s3.addChunk(lo, hi, x.3.x, lowSlice: j, chunk: c)
                }
                s0.finishPair(unit, x.0, lowSlice: j)
                s1.finishPair(unit, x.1, lowSlice: j)
                s2.finishPair(unit, x.2, lowSlice: j)
                s3.finishPair(unit, x.3, lowSlice: j)
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
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(scale, _mm256_permutevar8x32_ps(x.dx, lane)), acc)
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
