// Kernels for q8_0, q4_0 and q5_0 weights repacked at load into groups of 8 rows ("x8" layouts).
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
// Weights are stored unsigned (q8_0 XOR 0x80, nibbles as they are); the kernels subtract
// offset·Σx with offset 128, 8 or 16.

/// The storage formats with an interleaved layout.
public enum InterleavedFormat: Sendable { case q8_0, q4_0, q5_0 }
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

/// Chunk j (0..<4) of a q4_0/q5_0 unit as unsigned bytes: weights 4j..<4j+4 (low nibbles) and
/// 16+4j..<+4 (high nibbles) of each row, with q5_0's fifth bits put back.
@inline(__always)
func nibbleChunk(_ format: InterleavedFormat, _ unit: UnsafeRawPointer, _ j: Int, _ masks: FifthBitMasks) -> (__m256i, __m256i) {
    let low4 = _mm256_set1_epi8(15)
    let v = load256(unit + (format == .q5_0 ? 48 : 16) + 32 * j)
    var lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4)
    if format == .q5_0 {
        let high = load256(unit + 16)
        lo = _mm256_or_si256(lo, masks.expand(high, j))
        hi = _mm256_or_si256(hi, masks.expand(high, 4 + j))
    }
    return (lo, hi)
}

/// The integer dot products of one unit against activation block `x` (32 int8): lane i is row i.
@inline(__always)
func unitDot(_ format: InterleavedFormat, _ unit: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ masks: FifthBitMasks) -> __m256i {
    var a = _mm256_setzero_si256(), b = _mm256_setzero_si256()
    if format != .q8_0 {
        for j in 0..<4 {
            let (lo, hi) = nibbleChunk(format, unit, j, masks)
            a = dpbusd(a, lo, broadcast4(x, 4 * j))
            b = dpbusd(b, hi, broadcast4(x, 16 + 4 * j))
        }
    } else {
        for k in stride(from: 0, to: 8, by: 2) {
            a = dotQ8Bytes(a, load256(unit + 16 + 32 * k), broadcast4(x, 4 * k))
            b = dotQ8Bytes(b, load256(unit + 48 + 32 * k), broadcast4(x, 4 * k + 4))
        }
    }
    return _mm256_add_epi32(a, b)
}

/// One unit's contribution for one activation row: d·dx·(dot − offset·Σq).
@inline(__always)
func unitAccumulate(_ format: InterleavedFormat, _ acc: __m256, _ unit: UnsafeRawPointer, _ x: UnsafePointer<Int8>,
                    _ dx: Float, _ xsum: Int32, _ masks: FifthBitMasks) -> __m256 {
    let offset: Int32 = format == .q8_0 ? q8Offset : format == .q4_0 ? 8 : 16
    let dot = _mm256_sub_epi32(unitDot(format, unit, x, masks), _mm256_set1_epi32(offset &* xsum))
    let scales = _mm256_mul_ps(_mm256_cvtph_ps(load128(unit)), _mm256_set1_ps(dx))
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scales, acc)
}

/// One unit against four activation rows at once: the unit's chunks are loaded and unpacked
/// once and meet four broadcast activation pieces each, so prompt batches spend their time in
/// vpdpbusd rather than in loads and nibble unpacking.
@inline(__always)
func unitAccumulate4(_ format: InterleavedFormat, _ acc: inout (__m256, __m256, __m256, __m256), _ unit: UnsafeRawPointer,
                     _ x: (UnsafePointer<Int8>, UnsafePointer<Int8>, UnsafePointer<Int8>, UnsafePointer<Int8>),
                     _ dx: (Float, Float, Float, Float), _ xsum: (Int32, Int32, Int32, Int32), _ masks: FifthBitMasks) {
    let zero = _mm256_setzero_si256()
    var a0 = zero, a1 = zero, a2 = zero, a3 = zero  // even chunks, per activation row
    var b0 = zero, b1 = zero, b2 = zero, b3 = zero  // odd chunks
    if format != .q8_0 {
        for j in 0..<4 {
            let (lo, hi) = nibbleChunk(format, unit, j, masks)
            a0 = dpbusd(a0, lo, broadcast4(x.0, 4 * j)); b0 = dpbusd(b0, hi, broadcast4(x.0, 16 + 4 * j))
            a1 = dpbusd(a1, lo, broadcast4(x.1, 4 * j)); b1 = dpbusd(b1, hi, broadcast4(x.1, 16 + 4 * j))
            a2 = dpbusd(a2, lo, broadcast4(x.2, 4 * j)); b2 = dpbusd(b2, hi, broadcast4(x.2, 16 + 4 * j))
            a3 = dpbusd(a3, lo, broadcast4(x.3, 4 * j)); b3 = dpbusd(b3, hi, broadcast4(x.3, 16 + 4 * j))
        }
    } else {
        for k in stride(from: 0, to: 8, by: 2) {
            let even = load256(unit + 16 + 32 * k), odd = load256(unit + 48 + 32 * k)
            a0 = dotQ8Bytes(a0, even, broadcast4(x.0, 4 * k)); b0 = dotQ8Bytes(b0, odd, broadcast4(x.0, 4 * k + 4))
            a1 = dotQ8Bytes(a1, even, broadcast4(x.1, 4 * k)); b1 = dotQ8Bytes(b1, odd, broadcast4(x.1, 4 * k + 4))
            a2 = dotQ8Bytes(a2, even, broadcast4(x.2, 4 * k)); b2 = dotQ8Bytes(b2, odd, broadcast4(x.2, 4 * k + 4))
            a3 = dotQ8Bytes(a3, even, broadcast4(x.3, 4 * k)); b3 = dotQ8Bytes(b3, odd, broadcast4(x.3, 4 * k + 4))
        }
    }
    let offset: Int32 = format == .q8_0 ? q8Offset : format == .q4_0 ? 8 : 16
    let scales = _mm256_cvtph_ps(load128(unit))
    @inline(__always) func finish(_ acc: __m256, _ a: __m256i, _ b: __m256i, _ dx: Float, _ xsum: Int32) -> __m256 {
        let dot = _mm256_sub_epi32(_mm256_add_epi32(a, b), _mm256_set1_epi32(offset &* xsum))
        return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(scales, _mm256_set1_ps(dx)), acc)
    }
    acc.0 = finish(acc.0, a0, b0, dx.0, xsum.0)
    acc.1 = finish(acc.1, a1, b1, dx.1, xsum.1)
    acc.2 = finish(acc.2, a2, b2, dx.2, xsum.2)
    acc.3 = finish(acc.3, a3, b3, dx.3, xsum.3)
}

/// y[c·rows + 8g ..< +8] for groups g in groupStart..<groupEnd and activation rows c in
/// colStart..<colEnd; x: `xq` [batch, 32·blocks], `xd` [batch, blocks], `xs` [batch, 2·blocks].
@inline(__always)
func interleavedRows(_ format: InterleavedFormat, _ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int,
                     _ colStart: Int, _ colEnd: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                     _ y: UnsafeMutablePointer<Float>) {
    let unitBytes = format == .q8_0 ? 272 : format == .q4_0 ? 144 : 176
    let masks = FifthBitMasks()
    let cols = 32 * blocks
    for g in groupStart..<groupEnd {
        let group = w + g * blocks * unitBytes
        var c = colStart
        // Four activation rows at a time: each unit is loaded and unpacked once for all four.
        while c + 4 <= colEnd {
            var acc = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
            let x0 = xq + c * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols
            let d0 = xd + c * blocks, d1 = d0 + blocks, d2 = d1 + blocks, d3 = d2 + blocks
            let s0 = xs + 2 * c * blocks, s1 = s0 + 2 * blocks, s2 = s1 + 2 * blocks, s3 = s2 + 2 * blocks
            for b in 0..<blocks {
                let o = 32 * b
                unitAccumulate4(format, &acc, group + b * unitBytes, (x0 + o, x1 + o, x2 + o, x3 + o), (d0[b], d1[b], d2[b], d3[b]),
                                (s0[2 * b] &+ s0[2 * b + 1], s1[2 * b] &+ s1[2 * b + 1], s2[2 * b] &+ s2[2 * b + 1], s3[2 * b] &+ s3[2 * b + 1]),
                                masks)
            }
            UnsafeMutableRawPointer(y + c * rows + 8 * g).storeBytes(of: acc.0, as: __m256.self)
            UnsafeMutableRawPointer(y + (c + 1) * rows + 8 * g).storeBytes(of: acc.1, as: __m256.self)
            UnsafeMutableRawPointer(y + (c + 2) * rows + 8 * g).storeBytes(of: acc.2, as: __m256.self)
            UnsafeMutableRawPointer(y + (c + 3) * rows + 8 * g).storeBytes(of: acc.3, as: __m256.self)
            c += 4
        }
        // Then two, as in a prompt of odd length.
        while c + 2 <= colEnd {
            var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
            let x0 = xq + c * cols, x1 = x0 + cols
            let d0 = xd + c * blocks, d1 = d0 + blocks
            let s0 = xs + 2 * c * blocks, s1 = s0 + 2 * blocks
            for b in 0..<blocks {
                let unit = group + b * unitBytes
                acc0 = unitAccumulate(format, acc0, unit, x0 + 32 * b, d0[b], s0[2 * b] &+ s0[2 * b + 1], masks)
                acc1 = unitAccumulate(format, acc1, unit, x1 + 32 * b, d1[b], s1[2 * b] &+ s1[2 * b + 1], masks)
            }
            UnsafeMutableRawPointer(y + c * rows + 8 * g).storeBytes(of: acc0, as: __m256.self)
            UnsafeMutableRawPointer(y + (c + 1) * rows + 8 * g).storeBytes(of: acc1, as: __m256.self)
            c += 2
        }
        if c < colEnd {
            var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
            let x0 = xq + c * cols, d0 = xd + c * blocks, s0 = xs + 2 * c * blocks
            var b = 0
            // Two independent accumulators hide the FMA latency.
            while b + 2 <= blocks {
                acc0 = unitAccumulate(format, acc0, group + b * unitBytes, x0 + 32 * b, d0[b], s0[2 * b] &+ s0[2 * b + 1], masks)
                acc1 = unitAccumulate(format, acc1, group + (b + 1) * unitBytes, x0 + 32 * (b + 1), d0[b + 1],
                                      s0[2 * b + 2] &+ s0[2 * b + 3], masks)
                b += 2
            }
            if b < blocks {
                acc0 = unitAccumulate(format, acc0, group + b * unitBytes, x0 + 32 * b, d0[b], s0[2 * b] &+ s0[2 * b + 1], masks)
            }
            UnsafeMutableRawPointer(y + c * rows + 8 * g).storeBytes(of: _mm256_add_ps(acc0, acc1), as: __m256.self)
        }
    }
}

public typealias InterleavedKernel = (_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int,
                                      _ colStart: Int, _ colEnd: Int, _ blocks: Int,
                                      _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                                      _ y: UnsafeMutablePointer<Float>) -> Void

public func q8_0x8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                       _ y: UnsafeMutablePointer<Float>) {
    interleavedRows(.q8_0, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, y)
}

public func q4_0x8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                       _ y: UnsafeMutablePointer<Float>) {
    interleavedRows(.q4_0, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, y)
}
#endif

#if arch(x86_64)
public func q5_0x8Rows(_ w: UnsafeRawPointer, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                       _ y: UnsafeMutablePointer<Float>) {
    interleavedRows(.q5_0, w, rows, groupStart, groupEnd, colStart, colEnd, blocks, xq, xd, xs, y)
}
#endif
