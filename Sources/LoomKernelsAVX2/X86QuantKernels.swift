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

/// The shared row loop. `block` gives, for one weight block and its 32 activation bytes, the
/// integer dot product, the factor it is scaled by (times the activation scale), and the factor of
/// the activation sum Σq (the min or the unsigned offset term).
@inline(__always)
func blockRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int, _ blockBytes: Int,
               _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
               _ y: UnsafeMutablePointer<Float>,
               _ block: (UnsafeRawPointer, __m256i) -> (dot: __m256i, scale: Float, sumFactor: Float)) {
    for r in start..<end {
        let row = w + r * rowBytes
        var acc = _mm256_setzero_ps()
        var sumTerm: Float = 0
        for b in 0..<blocks {
            let x = load256(xq + 32 * b)
            let (dot, scale, sumFactor) = block(row + b * blockBytes, x)
            let dx = xd[b]
            acc = _mm256_fmadd_ps(_mm256_set1_ps(scale * dx), _mm256_cvtepi32_ps(dot), acc)
            sumTerm += sumFactor * dx * Float(xs[2 * b] &+ xs[2 * b + 1])
        }
        y[r] = acc.sum() + sumTerm
    }
}

/// q8_0 rows `start..<end` of `w` times one Q8 activation row, into y[start..<end].
public func q8_0Rows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    blockRows(w, rowBytes, start, end, blocks, 34, xq, xd, xs, y) { block, x in
        (dotSigned(load256(block + 2), x), loadHalf(block), 0)
    }
}

/// q4_0: unsigned nibbles q, weight d·(q − 8).
public func q4_0Rows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    blockRows(w, rowBytes, start, end, blocks, 18, xq, xd, xs, y) { block, x in
        let d = loadHalf(block)
        return (dotUnsignedSigned(unpackNibbles(block + 2), x), d, -8 * d)
    }
}

/// q4_1: weight d·q + m.
public func q4_1Rows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    blockRows(w, rowBytes, start, end, blocks, 20, xq, xd, xs, y) { block, x in
        (dotUnsignedSigned(unpackNibbles(block + 4), x), loadHalf(block), loadHalf(block + 2))
    }
}

/// q5_0: 5-bit q, weight d·(q − 16).
public func q5_0Rows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    blockRows(w, rowBytes, start, end, blocks, 22, xq, xd, xs, y) { block, x in
        let d = loadHalf(block)
        let q = _mm256_or_si256(unpackNibbles(block + 6), fifthBits(block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)))
        return (dotUnsignedSigned(q, x), d, -16 * d)
    }
}

/// q5_1: weight d·q + m.
public func q5_1Rows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                     _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    blockRows(w, rowBytes, start, end, blocks, 24, xq, xd, xs, y) { block, x in
        let q = _mm256_or_si256(unpackNibbles(block + 8), fifthBits(block.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        return (dotUnsignedSigned(q, x), loadHalf(block), loadHalf(block + 2))
    }
}

/// iq4_nl: nibbles index ggml's non-linear table, looked up 32 at a time with pshufb.
public func iq4_nlRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                       _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    // kvalues_iq4nl: -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113
    let table = _mm256_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
                                 -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)
    blockRows(w, rowBytes, start, end, blocks, 18, xq, xd, xs, y) { block, x in
        (dotSigned(_mm256_shuffle_epi8(table, unpackNibbles(block + 2)), x), loadHalf(block), 0)
    }
}
#endif
