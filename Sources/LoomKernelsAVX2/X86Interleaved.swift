// Kernels for q8_0, q4_0, q5_0, mxfp4 and iq4_nl weights repacked at load into groups of 8 rows ("x8" layouts).
// Compiled twice like X86QuantKernels.swift: with AVX-512 VNNI and with AVX2 (see `dpbusd` and
// `dotQ8Bytes`). In the native layout every row-block needs its own scale
// conversion, float scaling and a horizontal sum; interleaved, lane i of every vector belongs to row i, so one vpdpbusd advances
// eight rows by four weights against four broadcast activation bytes, one vcvtph2ps gives eight
// scales, and eight outputs are stored at once with no horizontal sum.
//
// Layout of one (8-row group, block) unit, `unitBytes` long:
//   [0, 16)   the 8 rows' f16 scales d
//   q8_0 (272 bytes): [16, 272) 8 chunks k of 32 bytes; row i's weights 4k..<4k+4, XOR 0x80
//                     (so they are unsigned; the kernels subtract 128·Σx) at 16 + 32k + 4i
//   q4_0 (144 bytes): [16, 144) 4 chunks j of 32 bytes; row i's packed bytes qs[4j..<4j+4] at
//                     16 + 32j + 4i (low nibbles weights 4j.., high nibbles weights 16+4j..)
//   q5_0 (176 bytes): [16, 48) row i's 32 fifth bits qh (u32) at 16 + 4i; [48, 176) the nibbles
//                     as in q4_0
//   mxfp4 (136 bytes): [0, 8) the 8 rows' E8M0 scale bytes instead; [8, 136) the nibbles as in
//                     q4_0, which index the doubled E2M1 values
//   iq4_nl (144 bytes): as q4_0; the nibbles index ggml's non-linear table, looked up as
//                     value + 128 (q8_0's unsigned bytes), so its products are q8_0's
// Weights are stored unsigned (q8_0 XOR 0x80, nibbles as they are); the kernels take away
// offset·Σx with offset 128, 8 or 16 (128 becomes 0 on AVX2, see `dotQ8Bytes`). mxfp4's nibbles
// are looked up as their value + 12 (0…24) and take away 12·Σx.
//
// Activations come in one of two roundings (Q8Activations): a scale per half block of 16, or,
// for the LM head, a scale per block plus the 7-bit rounding residual, each its own
// specialization (`UnitRounding`).

/// The storage formats with an interleaved layout.
public enum InterleavedFormat: Sendable { case q8_0, q4_0, q5_0, mxfp4, iq4_nl }
#if arch(x86_64)
import _Builtin_intrinsics.intel

@inline(__always) func broadcast4(_ x: UnsafePointer<Int8>, _ offset: Int) -> __m256i {
    _mm256_set1_epi32(UnsafeRawPointer(x + offset).loadUnaligned(as: Int32.self))
}

@inline(__always) func dpbusd(_ acc: __m256i, _ u: __m256i, _ s: __m256i) -> __m256i {
    #if VNNI
    // The unmasked form is a C macro Swift cannot import; an all-ones mask folds to plain vpdpbusd.
    return _mm256_mask_dpbusd_epi32(acc, 0xFF, u, s)
    #else
    // AVX2: pairs of u·s in 16 bits, then pairs of those in 32. Callers pass nibbles (u ≤ 31), so
    // a pair sum (≤ 2·31·127) never saturates; q8_0's bytes go through `dotQ8Bytes`.
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)))
    #endif
}

/// The 16-bit pair sums of two chunks' products, u0·s0 + u1·s1 as `vpmaddubsw` leaves them: the
/// caller keeps 2·2·u·|s| below 2¹⁵ (unsigned weights below 64 against activations in
/// [−127, 127]) and widens them with one vpmaddwd, by ones or by a scale.
@inline(__always) func pairSums2(_ u0: __m256i, _ s0: __m256i, _ u1: __m256i, _ s1: __m256i) -> __m256i {
    _mm256_add_epi16(_mm256_maddubs_epi16(u0, s0), _mm256_maddubs_epi16(u1, s1))
}

/// acc + the products of two chunks, u0·s0 + u1·s1. On AVX2 through `pairSums2`, one widening for
/// two chunks (three multiplies instead of four).
@inline(__always) func dot2(_ acc: __m256i, _ u0: __m256i, _ s0: __m256i, _ u1: __m256i, _ s1: __m256i) -> __m256i {
    #if VNNI
    return dpbusd(dpbusd(acc, u0, s0), u1, s1)
    #else
    return _mm256_add_epi32(acc, widenPairs(pairSums2(u0, s0, u1, s1)))
    #endif
}

/// The dot product of q8_0's stored bytes (weights XOR 0x80) with activations. With VNNI it is
/// the unsigned product, and the caller subtracts `q8Offset`·Σx = 128·Σx. On AVX2, maddubs could
/// saturate on bytes up to 255, so the weights are flipped back to signed and multiplied as
/// |w| × (x with w's sign), pair sums ≤ 2·128·127: the signed dot itself, offset 0.
@inline(__always) func dotQ8Bytes(_ acc: __m256i, _ u: __m256i, _ s: __m256i) -> __m256i {
    #if VNNI
    return dpbusd(acc, u, s)
    #else
    let w = _mm256_xor_si256(u, _mm256_set1_epi8(-128))
    let pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(s, w))
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
    #endif
}

/// acc + the products u·s of four bytes per lane as `vpmaddubsw` leaves them: pair sums in 16-bit
/// halves, two instructions a chunk instead of `dpbusd`'s three on AVX2. The caller keeps the
/// halves within 16 bits (unsigned weights below 32 against activations in [−127, 127]: four
/// chunks) and widens them with `widenPairs`.
@inline(__always) func addPairs(_ acc: __m256i, _ u: __m256i, _ s: __m256i) -> __m256i {
    _mm256_add_epi16(acc, _mm256_maddubs_epi16(u, s))
}

/// The 32-bit per-lane sums of an `addPairs` accumulator.
@inline(__always) func widenPairs(_ pairs: __m256i) -> __m256i {
    _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
}

#if VNNI
let q8Offset: Int32 = 128
#else
let q8Offset: Int32 = 0
#endif

/// Constant vectors for expanding q5_0 fifth bits, built once per kernel call: `spread[k]` copies
/// byte k of each lane's u32 into the lane's bytes 0–3, `select[h]` picks bits 4h..<4h+4 of it.
struct FifthBitMasks {
    let spread: (__m256i, __m256i, __m256i, __m256i)
    let select: (__m256i, __m256i)

    @inline(__always) init() {
        let base = _mm256_setr_epi8(0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12,
                                    0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12)
        spread = (base, _mm256_add_epi8(base, _mm256_set1_epi8(1)), _mm256_add_epi8(base, _mm256_set1_epi8(2)),
                  _mm256_add_epi8(base, _mm256_set1_epi8(3)))
        select = (_mm256_set1_epi32(0x0804_0201), _mm256_set1_epi32(Int32(bitPattern: 0x8040_2010)))
    }

    /// Bits 4k..<4k+4 of each lane's u32 of `bits` as 0x10 in bytes 0–3 of the lane: the fifth
    /// bits of weights 4k..<4k+4 of each row.
    @inline(__always) func expand(_ bits: __m256i, _ k: Int) -> __m256i {
        let spreadMask = k / 2 == 0 ? spread.0 : k / 2 == 1 ? spread.1 : k / 2 == 2 ? spread.2 : spread.3
        let mask = k % 2 == 0 ? select.0 : select.1
        let picked = _mm256_and_si256(_mm256_shuffle_epi8(bits, spreadMask), mask)
        return _mm256_and_si256(_mm256_cmpeq_epi8(picked, mask), _mm256_set1_epi8(0x10))
    }
}

/// Chunk j (0..<4) of a unit as unsigned bytes: weights 4j..<4j+4 and 16+4j..<+4 of each row. For
/// q4_0/q5_0 the low and high nibbles of the same bytes, with q5_0's fifth bits put back; for
/// q8_0 chunks j and j + 4 of the layout.
@inline(__always)
func unitChunk(_ format: InterleavedFormat, _ unit: UnsafeRawPointer, _ j: Int, _ masks: FifthBitMasks) -> (__m256i, __m256i) {
    if format == .q8_0 { return (load256(unit + 16 + 32 * j), load256(unit + 16 + 32 * (j + 4))) }
    let low4 = _mm256_set1_epi8(15)
    let v = load256(unit + (format == .q5_0 ? 48 : format == .mxfp4 ? 8 : 16) + 32 * j)
    var lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4)
    if format == .mxfp4 {
        // kvalues_mxfp4 + 12: 0, 1, 2, 3, 4, 6, 8, 12, 0, −1, −2, −3, −4, −6, −8, −12.
        let table = _mm256_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0,
                                     12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0)
        return (_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi))
    }
    if format == .iq4_nl {
        let table = iq4UnsignedTable()
        return (_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi))
    }
    if format == .q5_0 {
        let high = load256(unit + 16)
        lo = _mm256_or_si256(lo, masks.expand(high, j))
        hi = _mm256_or_si256(hi, masks.expand(high, 4 + j))
    }
    return (lo, hi)
}

/// acc + Σ (stored weight bytes u) · (activation bytes s), four at a time per lane.
@inline(__always) func chunkDot(_ format: InterleavedFormat, _ acc: __m256i, _ u: __m256i, _ s: __m256i) -> __m256i {
    format == .q8_0 || format == .iq4_nl ? dotQ8Bytes(acc, u, s) : dpbusd(acc, u, s)
}

/// The unsigned-storage offset of each format's weights (see the layout above).
@inline(__always) func storageOffset(_ format: InterleavedFormat) -> Int32 {
    format == .q8_0 || format == .iq4_nl ? q8Offset : format == .q4_0 ? 8 : format == .mxfp4 ? 12 : 16
}

/// The 8 rows' weight scales of a unit: f16 values, or for mxfp4 half the E8M0 scale,
/// 2^(e − 128), built from bits as ggml does (e < 2 gives the subnormals 0x00200000 << e).
@inline(__always) func unitScales(_ format: InterleavedFormat, _ unit: UnsafeRawPointer) -> __m256 {
    guard format == .mxfp4 else { return _mm256_cvtph_ps(load128(unit)) }
    let e = _mm256_cvtepu8_epi32(_mm_set_epi64x(0, unit.loadUnaligned(as: Int64.self)))
    let normal = _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23)
    let tiny = _mm256_sllv_epi32(_mm256_set1_epi32(0x0020_0000), e)
    return _mm256_castsi256_ps(_mm256_blendv_epi8(normal, tiny, _mm256_cmpgt_epi32(_mm256_set1_epi32(2), e)))
}

/// Which of the two activation roundings an x8 kernel is compiled for (a type, so each variant is
/// specialized without a branch in the inner loops).
protocol UnitRounding { static var fine: Bool { get } }
/// A scale per half block of 16.
enum HalfBlockRounding: UnitRounding { static var fine: Bool { false } }
/// A scale per block of 32 and the residual in steps of d/128.
enum ResidualRounding: UnitRounding { static var fine: Bool { true } }

/// One block of 32 activations in one of the two roundings `Q8Activations` makes for x8 kernels:
/// - halves (`fine` false): q in two halves of 16, each with its own scale d0, d1 and sum;
/// - fine: q with one scale d0 and the residual r in steps of d0/128, with sums Σq, Σr.
struct ActivationBlock {
    let q: UnsafePointer<Int8>  // [32]
    let r: UnsafePointer<Int8>  // [32], fine only
    let d0: Float, d1: Float
    let sum0: Int32, sum1: Int32, rsum: Int32

    /// Block `b` of activation row `c`.
    @inline(__always)
    init(_ x: ActivationRows, row c: Int, block b: Int, fine: Bool) {
        let index = c * x.blocks + b
        q = x.q + 32 * index
        r = x.r + 32 * index
        if fine {
            d0 = x.d[index]; d1 = 0
            sum0 = x.sums[2 * index] &+ x.sums[2 * index + 1]; sum1 = 0
            rsum = x.rsums[index]
        } else {
            d0 = x.d[2 * index]; d1 = x.d[2 * index + 1]
            sum0 = x.sums[2 * index]; sum1 = x.sums[2 * index + 1]
            rsum = 0
        }
    }
}

/// A batch of quantized activation rows, as `Q8Activations` lays them out.
struct ActivationRows {
    let blocks: Int
    let q: UnsafePointer<Int8>       // [batch, 32·blocks]
    let d: UnsafePointer<Float>      // [batch, 2·blocks] halves, [batch, blocks] fine
    let sums: UnsafePointer<Int32>   // [batch, 2·blocks]
    let r: UnsafePointer<Int8>       // [batch, 32·blocks], fine only
    let rsums: UnsafePointer<Int32>  // [batch, blocks], fine only

    /// Block `b` of activation row `c`.
    @inline(__always) func block(_ c: Int, _ b: Int, _ fine: Bool) -> ActivationBlock { ActivationBlock(self, row: c, block: b, fine: fine) }
}

/// Integer dot products of one unit (8 rows) against one activation block, kept apart as the
/// rounding needs them: halves → (weights 0..<16 · q, weights 16..<32 · q); fine → (all · q, all · r).
/// On AVX2, halves of q4_0 and q5_0 gather `addPairs` sums (four chunks of weights below 32 a
/// part) and take the offset at `finish`; otherwise the sums are 32-bit from −offset·Σ.
struct UnitDots {
    var first: __m256i
    var second: __m256i

    /// Whether `format` under rounding R sums through `addPairs` and widens at `finish`: on AVX2
    /// only, since VNNI's vpdpbusd already sums in 32 bits in one instruction.
    @inline(__always) static func pairs<R: UnitRounding>(_ format: InterleavedFormat, _: R.Type) -> Bool {
        #if VNNI
        return false
        #else
        return !R.fine && format != .q8_0 && format != .iq4_nl
        #endif
    }

    @inline(__always)
    init<R: UnitRounding>(_ format: InterleavedFormat, _ x: ActivationBlock, _ rounding: R.Type) {
        if UnitDots.pairs(format, rounding) {
            first = _mm256_setzero_si256()
            second = first
        } else {
            let offset = storageOffset(format)
            first = _mm256_set1_epi32(0 &- offset &* x.sum0)
            second = _mm256_set1_epi32(0 &- offset &* (R.fine ? x.rsum : x.sum1))
        }
    }

    @inline(__always)
    mutating func add<R: UnitRounding>(_ format: InterleavedFormat, _ lo: __m256i, _ hi: __m256i, _ j: Int, _ x: ActivationBlock, _ rounding: R.Type) {
        if R.fine {
            first = chunkDot(format, chunkDot(format, first, lo, broadcast4(x.q, 4 * j)), hi, broadcast4(x.q, 16 + 4 * j))
            second = chunkDot(format, chunkDot(format, second, lo, broadcast4(x.r, 4 * j)), hi, broadcast4(x.r, 16 + 4 * j))
        } else if UnitDots.pairs(format, rounding) {
            first = addPairs(first, lo, broadcast4(x.q, 4 * j))
            second = addPairs(second, hi, broadcast4(x.q, 16 + 4 * j))
        } else {
            first = chunkDot(format, first, lo, broadcast4(x.q, 4 * j))
            second = chunkDot(format, second, hi, broadcast4(x.q, 16 + 4 * j))
        }
    }

    /// acc + the unit's 8 products as floats; `scales` are the rows' weight scales.
    ///
    /// Fine: d0·(128·(dot − offset·Σq) + (rdot − offset·Σr))/128 in one integer sum, which stays
    /// below 2³¹ (|dot − offset·Σq| ≤ 32·128·127 for q8_0, times 128 is 6.7e7); its conversion to
    /// f32 rounds at 2⁻²⁴ relative, far below the d/256 residual step.
    @inline(__always)
    func finish<R: UnitRounding>(_ format: InterleavedFormat, _ acc: __m256, _ scales: __m256, _ x: ActivationBlock, _ rounding: R.Type) -> __m256 {
        if R.fine {
            let total = _mm256_add_epi32(_mm256_slli_epi32(first, 7), second)
            return _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_mul_ps(scales, _mm256_set1_ps(x.d0 * 0x1p-7)), acc)
        }
        var firstSum = first, secondSum = second
        if UnitDots.pairs(format, rounding) {
            let offset = storageOffset(format)
            firstSum = _mm256_add_epi32(widenPairs(first), _mm256_set1_epi32(0 &- offset &* x.sum0))
            secondSum = _mm256_add_epi32(widenPairs(second), _mm256_set1_epi32(0 &- offset &* x.sum1))
        }
        let low = _mm256_cvtepi32_ps(firstSum), high = _mm256_cvtepi32_ps(secondSum)
        let both = _mm256_fmadd_ps(high, _mm256_set1_ps(x.d1), _mm256_mul_ps(low, _mm256_set1_ps(x.d0)))
        return _mm256_fmadd_ps(both, scales, acc)
    }
}

/// One unit against one activation row.
@inline(__always)
func unitAccumulate<R: UnitRounding>(_ format: InterleavedFormat, _ acc: __m256, _ unit: UnsafeRawPointer, _ x: ActivationBlock,
                    _ masks: FifthBitMasks, _ rounding: R.Type) -> __m256 {
    var dots = UnitDots(format, x, rounding)
    for j in 0..<4 {
        let (lo, hi) = unitChunk(format, unit, j, masks)
        dots.add(format, lo, hi, j, x, rounding)
    }
    return dots.finish(format, acc, unitScales(format, unit), x, rounding)
}

/// One unit against four activation rows at once: the unit's chunks are loaded and unpacked
/// once and meet four activation rows each, so prompt batches spend their time in vpdpbusd
/// rather than in loads and nibble unpacking.
@inline(__always)
func unitAccumulate4<R: UnitRounding>(_ format: InterleavedFormat, _ acc: inout (__m256, __m256, __m256, __m256), _ unit: UnsafeRawPointer,
                     _ x: (ActivationBlock, ActivationBlock, ActivationBlock, ActivationBlock), _ masks: FifthBitMasks,
                     _ rounding: R.Type) {
    var d0 = UnitDots(format, x.0, rounding), d1 = UnitDots(format, x.1, rounding)
    var d2 = UnitDots(format, x.2, rounding), d3 = UnitDots(format, x.3, rounding)
    for j in 0..<4 {
        let (lo, hi) = unitChunk(format, unit, j, masks)
        d0.add(format, lo, hi, j, x.0, rounding)
        d1.add(format, lo, hi, j, x.1, rounding)
        d2.add(format, lo, hi, j, x.2, rounding)
        d3.add(format, lo, hi, j, x.3, rounding)
    }
    let scales = unitScales(format, unit)
    acc.0 = d0.finish(format, acc.0, scales, x.0, rounding)
    acc.1 = d1.finish(format, acc.1, scales, x.1, rounding)
    acc.2 = d2.finish(format, acc.2, scales, x.2, rounding)
    acc.3 = d3.finish(format, acc.3, scales, x.3, rounding)
}

/// y[c·rows + 8g ..< +8] for groups g in groupStart..<groupEnd and activation rows c in
/// colStart..<colEnd.
@inline(__always)
func interleavedRows<R: UnitRounding>(_ format: InterleavedFormat, _ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int,
                     _ colStart: Int, _ colEnd: Int, _ x: ActivationRows, _ y: UnsafeMutablePointer<Float>, _ rounding: R.Type) {
    let unitBytes = format == .q8_0 ? 272 : format == .q4_0 || format == .iq4_nl ? 144 : format == .mxfp4 ? 136 : 176
    let masks = FifthBitMasks()
    let blocks = x.blocks
    for g in groupStart..<groupEnd {
        let group = w + g * blocks * unitBytes
        var c = colStart
        // Four activation rows at a time: each unit is loaded and unpacked once for all four.
        while c + 4 <= colEnd {
            var acc = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
            for b in 0..<blocks {
                let blocks4 = (x.block(c, b, R.fine), x.block(c + 1, b, R.fine), x.block(c + 2, b, R.fine), x.block(c + 3, b, R.fine))
                unitAccumulate4(format, &acc, group + b * unitBytes, blocks4, masks, rounding)
            }
            y.store8(row: c, of: rows, group: g, acc.0)
            y.store8(row: c + 1, of: rows, group: g, acc.1)
            y.store8(row: c + 2, of: rows, group: g, acc.2)
            y.store8(row: c + 3, of: rows, group: g, acc.3)
            c += 4
        }
        // Then two, as in a prompt of odd length.
        while c + 2 <= colEnd {
            var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
            for b in 0..<blocks {
                let unit = group + b * unitBytes
                acc0 = unitAccumulate(format, acc0, unit, x.block(c, b, R.fine), masks, rounding)
                acc1 = unitAccumulate(format, acc1, unit, x.block(c + 1, b, R.fine), masks, rounding)
            }
            y.store8(row: c, of: rows, group: g, acc0)
            y.store8(row: c + 1, of: rows, group: g, acc1)
            c += 2
        }
        // Then one, with the same single accumulator per row as above: a row's sum must not
        // depend on how many rows share the call (batch invariance), so no second accumulator.
        if c < colEnd {
            var acc = _mm256_setzero_ps()
            for b in 0..<blocks { acc = unitAccumulate(format, acc, group + b * unitBytes, x.block(c, b, R.fine), masks, rounding) }
            y.store8(row: c, of: rows, group: g, acc)
        }
    }
}

extension UnsafeMutablePointer<Float> {
    /// y[row·rows + 8·group ..< +8] = value.
    @inline(__always) func store8(row: Int, of rows: Int, group: Int, _ value: __m256) {
        UnsafeMutableRawPointer(self + row * rows + 8 * group).storeBytes(of: value, as: __m256.self)
    }
}

/// Runs the rounding the activations were made with: the residual arrays come only with `.fine`.
@inline(__always)
func interleavedKernel(_ format: InterleavedFormat, _ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int,
                       _ colStart: Int, _ colEnd: Int, _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>,
                       _ xs: UnsafePointer<Int32>, _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?,
                       _ y: UnsafeMutablePointer<Float>) {
    if let xr, let xrs {
        let x = ActivationRows(blocks: blocks, q: xq, d: xd, sums: xs, r: xr, rsums: xrs)
        interleavedRows(format, w, rows, groupStart, groupEnd, colStart, colEnd, x, y, ResidualRounding.self)
    } else {
        // Half-block rounding never reads r or rsums; they point at valid memory all the same.
        let x = ActivationRows(blocks: blocks, q: xq, d: xd, sums: xs, r: xq, rsums: xs)
        interleavedRows(format, w, rows, groupStart, groupEnd, colStart, colEnd, x, y, HalfBlockRounding.self)
    }
}

/// The x8 kernels' shared signature (the AVX2 and AVX-512 modules each compile one). x as
/// `Q8Activations` lays it out: `xq` [batch, 32·blocks], `xd`, `xs` [batch, 2·blocks]. With the
/// residual `xr` [batch, 32·blocks] and `xrs` [batch, blocks], `xd` is [batch, blocks] (one scale
/// per 32, fine rounding); without, `xd` holds a scale per half block.
public typealias InterleavedKernel = (_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int,
                                      _ colStart: Int, _ colEnd: Int, _ blocks: Int,
                                      _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                                      _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?,
                                      _ y: UnsafeMutablePointer<Float>) -> Void

public func q8_0x8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                       _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?, _ y: UnsafeMutablePointer<Float>) {
    interleavedKernel(.q8_0, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, xr, xrs, y)
}

public func q4_0x8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                       _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?, _ y: UnsafeMutablePointer<Float>) {
    interleavedKernel(.q4_0, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, xr, xrs, y)
}

public func mxfp4x8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                        _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                        _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?, _ y: UnsafeMutablePointer<Float>) {
    interleavedKernel(.mxfp4, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, xr, xrs, y)
}

public func iq4_nlx8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                         _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                         _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?, _ y: UnsafeMutablePointer<Float>) {
    interleavedKernel(.iq4_nl, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, xr, xrs, y)
}

public func q5_0x8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                       _ xr: UnsafePointer<Int8>?, _ xrs: UnsafePointer<Int32>?, _ y: UnsafeMutablePointer<Float>) {
    interleavedKernel(.q5_0, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, xr, xrs, y)
}
#endif
