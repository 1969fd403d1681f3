// Prompt-time (batch > 1) kernels for f16 / bf16 / f32 weights, AVX-512: a tile of 4 weight rows ×
// 4 activation rows, 16 columns per step. Each weight vector is widened once and feeds four FMAs,
// each activation vector feeds four, so the loop is bound by FMA throughput rather than by
// conversions and loads. Columns past a multiple of 16 are finished in scalar code.
#if arch(x86_64)
import _Builtin_intrinsics.intel

@inline(__always) func widen16F16(_ p: UnsafeRawPointer) -> __m512 { _mm512_cvtph_ps(load256(p)) }

@inline(__always) func widen16BF16(_ p: UnsafeRawPointer) -> __m512 {
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load256(p)), 16))
}

@inline(__always) func widen16F32(_ p: UnsafeRawPointer) -> __m512 { p.loadUnaligned(as: __m512.self) }

/// The four sums of `a`, `b`, `c`, `d` at once: halved to 8 lanes, then three vhaddps and one
/// last add, 13 operations against about 32 for four separate reductions. With 896 columns a
/// 4×4 tile does 56 steps of 16 FMAs, so the reductions were worth a tenth of its work.
@inline(__always) func horizontalSums4(_ a: __m512, _ b: __m512, _ c: __m512, _ d: __m512) -> SIMD4<Float> {
    @inline(__always) func fold(_ v: __m512) -> __m256 { v.lowHalf + v.highHalf }
    let h = _mm256_hadd_ps(_mm256_hadd_ps(fold(a), fold(b)), _mm256_hadd_ps(fold(c), fold(d)))
    return h.lowHalf + h.highHalf
}

/// y[c, r] for r in rowStart..<rowEnd and c in colStart..<colEnd (both multiples of 4 long), with
/// x [batch, cols] f32 and y [batch, rows].
@inline(__always)
func floatTile(_ w: UnsafeRawPointer, _ elementBytes: Int, _ rows: Int, _ cols: Int, _ rowStart: Int, _ rowEnd: Int,
               _ colStart: Int, _ colEnd: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
               _ widen: (UnsafeRawPointer) -> __m512, _ scalar: (UnsafeRawPointer) -> Float) {
    let rowBytes = cols * elementBytes
    let vectorCols = cols & ~15
    // Activation rows outside, weight rows inside: four activation rows (4·cols floats) stay in
    // L1 while the caller's row tile passes over them, and the row tile stays in L1 for the next
    // four. The other order streamed every activation row from L2 once per four weight rows.
    var c = colStart
    while c < colEnd {
        var r = rowStart
        while r < rowEnd {
            let w0 = w + r * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes
            let x0 = x + c * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols
            var a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00
            var a10 = a00, a11 = a00, a12 = a00, a13 = a00
            var a20 = a00, a21 = a00, a22 = a00, a23 = a00
            var a30 = a00, a31 = a00, a32 = a00, a33 = a00
            var k = 0
            while k < vectorCols {
                let o = k * elementBytes
                let v0 = widen(w0 + o), v1 = widen(w1 + o), v2 = widen(w2 + o), v3 = widen(w3 + o)
                @inline(__always) func column(_ xs: UnsafePointer<Float>, _ c0: inout __m512, _ c1: inout __m512,
                                              _ c2: inout __m512, _ c3: inout __m512) {
                    let xv = UnsafeRawPointer(xs + k).loadUnaligned(as: __m512.self)
                    c0 = _mm512_fmadd_ps(v0, xv, c0)
                    c1 = _mm512_fmadd_ps(v1, xv, c1)
                    c2 = _mm512_fmadd_ps(v2, xv, c2)
                    c3 = _mm512_fmadd_ps(v3, xv, c3)
                }
                column(x0, &a00, &a10, &a20, &a30)
                column(x1, &a01, &a11, &a21, &a31)
                column(x2, &a02, &a12, &a22, &a32)
                column(x3, &a03, &a13, &a23, &a33)
                k += 16
            }
            @inline(__always) func store(_ i: Int, _ wi: UnsafeRawPointer, _ c0: __m512, _ c1: __m512, _ c2: __m512, _ c3: __m512) {
                var s = horizontalSums4(c0, c1, c2, c3)
                for k in vectorCols..<cols {
                    let weight = scalar(wi + k * elementBytes)
                    s += weight * SIMD4<Float>(x0[k], x1[k], x2[k], x3[k])
                }
                for j in 0..<4 { y[(c + j) * rows + r + i] = s[j] }
            }
            store(0, w0, a00, a01, a02, a03)
            store(1, w1, a10, a11, a12, a13)
            store(2, w2, a20, a21, a22, a23)
            store(3, w3, a30, a31, a32, a33)
            r += 4
        }
        c += 4
    }
}

/// y[r] for r in rowStart..<rowEnd and one activation row x, each with the tile's arithmetic:
/// one 16-lane accumulator over the columns in order, the same lane reduction, then the scalar
/// tail. Decode and the tile's leftovers use it, so a row's product is the same alone or in a
/// batch of any size. Rows stream one at a time: the prefetcher follows one stream, not four
/// interleaved ones, and the accumulator's chain (one FMA per 16 weights) still outruns memory.
@inline(__always)
func floatTileColumn(_ w: UnsafeRawPointer, _ elementBytes: Int, _ cols: Int, _ rowStart: Int, _ rowEnd: Int,
                     _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                     _ widen: (UnsafeRawPointer) -> __m512, _ scalar: (UnsafeRawPointer) -> Float) {
    let rowBytes = cols * elementBytes
    let vectorCols = cols & ~15
    let zero = _mm512_setzero_ps()
    for r in rowStart..<rowEnd {
        let row = w + r * rowBytes
        var acc = zero
        var k = 0
        while k < vectorCols {
            acc = _mm512_fmadd_ps(widen(row + k * elementBytes), UnsafeRawPointer(x + k).loadUnaligned(as: __m512.self), acc)
            k += 16
        }
        // Lanes of different inputs never meet in horizontalSums4, so this is the sum the tile
        // makes for the row.
        var sum = horizontalSums4(acc, zero, zero, zero)[0]
        for k in vectorCols..<cols { sum += scalar(row + k * elementBytes) * x[k] }
        y[r] = sum
    }
}

public func f16TileColumn(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTileColumn(w, 2, cols, start, end, x, y, widen16F16, loadHalf)
}

public func bf16TileColumn(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTileColumn(w, 2, cols, start, end, x, y, widen16BF16) { Float(bitPattern: UInt32($0.loadUnaligned(as: UInt16.self)) << 16) }
}

public func f32TileColumn(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTileColumn(w, 4, cols, start, end, x, y, widen16F32) { $0.loadUnaligned(as: Float.self) }
}

public typealias FloatTileKernel = (_ w: UnsafeRawPointer, _ rows: Int, _ cols: Int, _ rowStart: Int, _ rowEnd: Int,
                                    _ colStart: Int, _ colEnd: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) -> Void

public func f16Tile(_ w: UnsafeRawPointer, _ rows: Int, _ cols: Int, _ rowStart: Int, _ rowEnd: Int,
                    _ colStart: Int, _ colEnd: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTile(w, 2, rows, cols, rowStart, rowEnd, colStart, colEnd, x, y, widen16F16, loadHalf)
}

public func bf16Tile(_ w: UnsafeRawPointer, _ rows: Int, _ cols: Int, _ rowStart: Int, _ rowEnd: Int,
                     _ colStart: Int, _ colEnd: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTile(w, 2, rows, cols, rowStart, rowEnd, colStart, colEnd, x, y, widen16BF16) {
        Float(bitPattern: UInt32($0.loadUnaligned(as: UInt16.self)) << 16)
    }
}

public func f32Tile(_ w: UnsafeRawPointer, _ rows: Int, _ cols: Int, _ rowStart: Int, _ rowEnd: Int,
                    _ colStart: Int, _ colEnd: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatTile(w, 4, rows, cols, rowStart, rowEnd, colStart, colEnd, x, y, widen16F32) { $0.loadUnaligned(as: Float.self) }
}
#endif
