// Prompt-time (batch > 1) kernels for f16 / bf16 / f32 weights on AVX2, the 8-lane counterpart
// of the AVX-512 module's X86FloatTiles.swift: blocks of 3 weight rows × 2 activation rows, with
// two accumulators per pair (even and odd 8-column steps): 12 accumulators, 3 widened weight
// vectors and one activation vector fill the 16 YMM registers, and a 16-column step takes 6
// widenings and 4 activation loads for 12 FMAs. Loads, not FMAs, bound the narrower blocks: one
// weight row against 4 activation rows took 10 loads for 8 FMAs and ran at half this speed.
//
// A row's product is the same two-accumulator sum over the columns in order, one fixed lane
// reduction, then the scalar tail, in the tile and in `floatTileColumn8` alike: decode and the
// tile's leftovers give the same bits as a batch of any size (batch invariance). Two chains, not
// one, because decode runs one row at a time: a single FMA chain per row waits on the FMA's
// latency, and interleaving two rows' streams instead lost a third of decode's speed from memory.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The four sums of `a`, `b`, `c`, `d` at once; lanes of different inputs never meet, so each sum
/// is the one `horizontalSums4x8(v, 0, 0, 0)` gives for it alone.
@inline(__always) func horizontalSums4x8(_ a: __m256, _ b: __m256, _ c: __m256, _ d: __m256) -> SIMD4<Float> {
    let h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d))
    return h.lowHalf + h.highHalf
}

/// Weight rows r..<r + R (R ≤ 3) against activation rows xa, xb: y[ca, r + i] and y[ca + 1, r + i].
@inline(__always)
func floatBlock8(_ R: Int, _ w: UnsafeRawPointer, _ elementBytes: Int, _ rows: Int, _ cols: Int, _ r: Int, _ ca: Int,
                 _ xa: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                 _ widen: (UnsafeRawPointer) -> __m256, _ scalar: (UnsafeRawPointer) -> Float) {
    let rowBytes = cols * elementBytes
    let pairCols = cols & ~15, vectorCols = cols & ~7
    let xb = xa + cols
    let w0 = w + r * rowBytes, w1 = w0 + (R > 1 ? rowBytes : 0), w2 = w0 + (R > 2 ? 2 * rowBytes : 0)
    let zero = _mm256_setzero_ps()
    var e0a = zero, e0b = zero, e1a = zero, e1b = zero, e2a = zero, e2b = zero
    var o0a = zero, o0b = zero, o1a = zero, o1b = zero, o2a = zero, o2b = zero
    @inline(__always) func step(_ k: Int, _ a0: inout __m256, _ b0: inout __m256, _ a1: inout __m256, _ b1: inout __m256,
                                _ a2: inout __m256, _ b2: inout __m256) {
        let o = k * elementBytes
        let v0 = widen(w0 + o), v1 = R > 1 ? widen(w1 + o) : zero, v2 = R > 2 ? widen(w2 + o) : zero
        let xv = UnsafeRawPointer(xa + k).loadUnaligned(as: __m256.self)
        a0 = _mm256_fmadd_ps(v0, xv, a0)
        if R > 1 { a1 = _mm256_fmadd_ps(v1, xv, a1) }
        if R > 2 { a2 = _mm256_fmadd_ps(v2, xv, a2) }
        let xw = UnsafeRawPointer(xb + k).loadUnaligned(as: __m256.self)
        b0 = _mm256_fmadd_ps(v0, xw, b0)
        if R > 1 { b1 = _mm256_fmadd_ps(v1, xw, b1) }
        if R > 2 { b2 = _mm256_fmadd_ps(v2, xw, b2) }
    }
    var k = 0
    while k < pairCols {
        step(k, &e0a, &e0b, &e1a, &e1b, &e2a, &e2b)
        step(k + 8, &o0a, &o0b, &o1a, &o1b, &o2a, &o2b)
        k += 16
    }
    if k < vectorCols { step(k, &e0a, &e0b, &e1a, &e1b, &e2a, &e2b) }
    @inline(__always) func store(_ i: Int, _ row: UnsafeRawPointer, _ ea: __m256, _ oa: __m256, _ eb: __m256, _ ob: __m256) {
        let sums = horizontalSums4x8(_mm256_add_ps(ea, oa), _mm256_add_ps(eb, ob), zero, zero)
        var sa = sums[0], sb = sums[1]
        for k in vectorCols..<cols {
            let weight = scalar(row + k * elementBytes)
            sa += weight * xa[k]
            sb += weight * xb[k]
        }
        y[ca * rows + r + i] = sa
        y[(ca + 1) * rows + r + i] = sb
    }
    store(0, w0, e0a, o0a, e0b, o0b)
    if R > 1 { store(1, w1, e1a, o1a, e1b, o1b) }
    if R > 2 { store(2, w2, e2a, o2a, e2b, o2b) }
}

/// y[c, r] for r in rowStart..<rowEnd and c in colStart..<colEnd (colEnd − colStart even), with
/// x [batch, cols] f32 and y [batch, rows].
@inline(__always)
func floatTile8(_ w: UnsafeRawPointer, _ elementBytes: Int, _ rows: Int, _ cols: Int, _ rowStart: Int, _ rowEnd: Int,
                _ colStart: Int, _ colEnd: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                _ widen: (UnsafeRawPointer) -> __m256, _ scalar: (UnsafeRawPointer) -> Float) {
    // Activation rows outside, weight rows inside, as in the AVX-512 tile: two activation rows
    // stay in L1 while the caller's row tile passes over them.
    var c = colStart
    while c < colEnd {
        var r = rowStart
        while r + 3 <= rowEnd {
            floatBlock8(3, w, elementBytes, rows, cols, r, c, x + c * cols, y, widen, scalar)
            r += 3
        }
        if r + 2 == rowEnd { floatBlock8(2, w, elementBytes, rows, cols, r, c, x + c * cols, y, widen, scalar) }
        if r + 1 == rowEnd { floatBlock8(1, w, elementBytes, rows, cols, r, c, x + c * cols, y, widen, scalar) }
        c += 2
    }
}

/// y[r] for r in rowStart..<rowEnd and one activation row x, each with the tile's arithmetic, one
/// row after another (one stream for the prefetcher to follow).
@inline(__always)
func floatTileColumn8(_ w: UnsafeRawPointer, _ elementBytes: Int, _ cols: Int, _ rowStart: Int, _ rowEnd: Int,
                      _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                      _ widen: (UnsafeRawPointer) -> __m256, _ scalar: (UnsafeRawPointer) -> Float) {
    let rowBytes = cols * elementBytes
    let pairCols = cols & ~15, vectorCols = cols & ~7
    let zero = _mm256_setzero_ps()
    for r in rowStart..<rowEnd {
        let row = w + r * rowBytes
        var even = zero, odd = zero
        var k = 0
        while k < pairCols {
            even = _mm256_fmadd_ps(widen(row + k * elementBytes), UnsafeRawPointer(x + k).loadUnaligned(as: __m256.self), even)
            odd = _mm256_fmadd_ps(widen(row + (k + 8) * elementBytes), UnsafeRawPointer(x + k + 8).loadUnaligned(as: __m256.self), odd)
            k += 16
        }
        if k < vectorCols { even = _mm256_fmadd_ps(widen(row + k * elementBytes), UnsafeRawPointer(x + k).loadUnaligned(as: __m256.self), even) }
        var sum = horizontalSums4x8(_mm256_add_ps(even, odd), zero, zero, zero)[0]
        for k in vectorCols..<cols { sum += scalar(row + k * elementBytes) * x[k] }
        y[r] = sum
    }
}

@inline(__always) func bf16Scalar(_ p: UnsafeRawPointer) -> Float { Float(bitPattern: UInt32(p.loadUnaligned(as: UInt16.self)) << 16) }

public func f16Tile8(_ w: UnsafeRawPointer, _ rows: Int, _ cols: Int, _ rowStart: Int, _ rowEnd: Int,
                     _ colStart: Int, _ colEnd: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTile8(w, 2, rows, cols, rowStart, rowEnd, colStart, colEnd, x, y, widen8F16, loadHalf)
}

public func bf16Tile8(_ w: UnsafeRawPointer, _ rows: Int, _ cols: Int, _ rowStart: Int, _ rowEnd: Int,
                      _ colStart: Int, _ colEnd: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTile8(w, 2, rows, cols, rowStart, rowEnd, colStart, colEnd, x, y, widen8BF16, bf16Scalar)
}

public func f32Tile8(_ w: UnsafeRawPointer, _ rows: Int, _ cols: Int, _ rowStart: Int, _ rowEnd: Int,
                     _ colStart: Int, _ colEnd: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTile8(w, 4, rows, cols, rowStart, rowEnd, colStart, colEnd, x, y, widen8F32) { $0.loadUnaligned(as: Float.self) }
}

public func f16TileColumn8(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTileColumn8(w, 2, cols, start, end, x, y, widen8F16, loadHalf)
}

public func bf16TileColumn8(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTileColumn8(w, 2, cols, start, end, x, y, widen8BF16, bf16Scalar)
}

public func f32TileColumn8(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTileColumn8(w, 4, cols, start, end, x, y, widen8F32) { $0.loadUnaligned(as: Float.self) }
}
#endif
