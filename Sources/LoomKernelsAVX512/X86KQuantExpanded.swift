// Prompt-time kernels for the K formats (q4_K, q5_K, q6_K), by expansion: a group
// of 8 weight rows is unpacked, 32 slices (1024 weights per row) at a time, into a small buffer in
// the interleaved form of X86Interleaved.swift (lane i of every 32-byte chunk is row i) with
// exact f32 scales and affine terms per row and half-slice. A whole column group of activation
// rows then meets each expanded span with broadcast vpdpbusd and no horizontal sums, so the
// unpacking and 6-bit scale decoding are paid once per 8 rows × 64 activation rows instead of
// once per activation row (row kernels) or per four (X86KQuantTiles.swift). Compiled for AVX-512
// VNNI and (symlinked) for AVX2, where the expanded weights (at most 63) cannot saturate the
// vpmaddubsw pairs that stand in for vpdpbusd. AVX2, 2 threads, prompt batch 512 (bench-kernels
// --path avx2): q4_K 312 → 813 tokens/s, q6_K 218 → 730 against the row kernels.
//
// Expanded unit (one slice, 8 rows), `expandedUnitBytes` long:
//   [0, 256)   8 chunks k of 32 bytes: row i's unsigned weights 4k..<4k+4 at 32k + 4i
//   [256, 288) scale of weights 0–15, f32 per row    [288, 320) scale of weights 16–31
//   [320, 352) c₀ per row (times Σx over 0–15)        [352, 384) c₁ per row (times Σx over 16–31)
#if arch(x86_64)
import _Builtin_intrinsics.intel

let expandedUnitBytes = 384
/// Slices expanded at a time: 1024 weights per row, 12 KB, which stays in L1 while the column
/// group passes over it.
let expandedSpan = 32

/// Unpacks slices `first..<first+count` of rows `8g..<8g+8` into `units`.
@inline(__always)
func expandSpan(_ w: UnsafeRawPointer, _ rowBytes: Int, _ group: Int, _ first: Int, _ count: Int, _ blockBytes: Int,
                _ units: UnsafeMutableRawPointer, _ slice: KSlice) {
    for i in 0..<8 {
        let row = w + (8 * group + i) * rowBytes
        for t in 0..<count {
            let s = first + t
            let (u, scale, low, high) = slice(row + (s / 8) * blockBytes, s % 8)
            let unit = units + t * expandedUnitBytes
            let pieces = unsafeBitCast(u, to: SIMD8<UInt32>.self)
            for k in 0..<8 { unit.storeBytes(of: pieces[k], toByteOffset: 32 * k + 4 * i, as: UInt32.self) }
            unit.storeBytes(of: scale[0], toByteOffset: 256 + 4 * i, as: Float.self)
            unit.storeBytes(of: scale[4], toByteOffset: 288 + 4 * i, as: Float.self)
            unit.storeBytes(of: low, toByteOffset: 320 + 4 * i, as: Float.self)
            unit.storeBytes(of: high, toByteOffset: 352 + 4 * i, as: Float.self)
        }
    }
}

/// One expanded unit against four activation rows (j = 0..<4): acc[j] (lane i = row i) += the
/// unit's products with activation slice x[j] (32 int8, scale dx[j], Σ over halves s0[j], s1[j]).
/// The unit's chunks and scales are loaded once for all four.
@inline(__always)
func expandedAccumulate4(_ acc: inout (__m256, __m256, __m256, __m256), _ unit: UnsafeRawPointer,
                         _ x: (UnsafePointer<Int8>, UnsafePointer<Int8>, UnsafePointer<Int8>, UnsafePointer<Int8>),
                         _ dx: SIMD4<Float>, _ s0: SIMD4<Float>, _ s1: SIMD4<Float>) {
    let zero = _mm256_setzero_si256()
    var a0 = zero, a1 = zero, a2 = zero, a3 = zero  // weights 0–15
    var b0 = zero, b1 = zero, b2 = zero, b3 = zero  // weights 16–31
    for k in 0..<4 {
        let low = load256(unit + 32 * k), high = load256(unit + 128 + 32 * k)
        a0 = dpbusd(a0, low, broadcast4(x.0, 4 * k)); b0 = dpbusd(b0, high, broadcast4(x.0, 16 + 4 * k))
        a1 = dpbusd(a1, low, broadcast4(x.1, 4 * k)); b1 = dpbusd(b1, high, broadcast4(x.1, 16 + 4 * k))
        a2 = dpbusd(a2, low, broadcast4(x.2, 4 * k)); b2 = dpbusd(b2, high, broadcast4(x.2, 16 + 4 * k))
        a3 = dpbusd(a3, low, broadcast4(x.3, 4 * k)); b3 = dpbusd(b3, high, broadcast4(x.3, 16 + 4 * k))
    }
    let scaleLow = unit.loadUnaligned(fromByteOffset: 256, as: __m256.self)
    let scaleHigh = unit.loadUnaligned(fromByteOffset: 288, as: __m256.self)
    let affineLow = unit.loadUnaligned(fromByteOffset: 320, as: __m256.self)
    let affineHigh = unit.loadUnaligned(fromByteOffset: 352, as: __m256.self)
    let sumsLow = dx * s0, sumsHigh = dx * s1
    @inline(__always) func finish(_ acc: __m256, _ a: __m256i, _ b: __m256i, _ j: Int) -> __m256 {
        let bx = _mm256_set1_ps(dx[j])
        var sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a), _mm256_mul_ps(scaleLow, bx), acc)
        sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(b), _mm256_mul_ps(scaleHigh, bx), sum)
        sum = _mm256_fmadd_ps(affineLow, _mm256_set1_ps(sumsLow[j]), sum)
        return _mm256_fmadd_ps(affineHigh, _mm256_set1_ps(sumsHigh[j]), sum)
    }
    acc.0 = finish(acc.0, a0, b0, 0)
    acc.1 = finish(acc.1, a1, b1, 1)
    acc.2 = finish(acc.2, a2, b2, 2)
    acc.3 = finish(acc.3, a3, b3, 3)
}

/// y[c·rows + 8g ..< +8] for groups g in groupStart..<groupEnd (rows a multiple of 8) and
/// activation rows c in colStart..<colEnd; x: `xq` [batch, cols], `xd` [batch, cols/32],
/// `xs` [batch, cols/16].
@inline(__always)
func expandedRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ groupStart: Int, _ groupEnd: Int,
                  _ colStart: Int, _ colEnd: Int, _ superBlocks: Int, _ blockBytes: Int,
                  _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                  _ y: UnsafeMutablePointer<Float>, _ slice: KSlice) {
    let slices = 8 * superBlocks, cols = 32 * slices
    withUnsafeTemporaryAllocation(byteCount: expandedSpan * expandedUnitBytes, alignment: 64) { buffer in
        let units = buffer.baseAddress!
        for g in groupStart..<groupEnd {
            var first = 0
            while first < slices {
                let count = min(expandedSpan, slices - first)
                expandSpan(w, rowBytes, g, first, count, blockBytes, units, slice)
                var c = colStart
                while c < colEnd {
                    // Four activation rows at a time; a last partial quad repeats its final row,
                    // which computes the same value again.
                    let j = (c, min(c + 1, colEnd - 1), min(c + 2, colEnd - 1), min(c + 3, colEnd - 1))
                    let out = (y + j.0 * rows + 8 * g, y + j.1 * rows + 8 * g, y + j.2 * rows + 8 * g, y + j.3 * rows + 8 * g)
                    @inline(__always) func start(_ p: UnsafeMutablePointer<Float>) -> __m256 {
                        // Partial sums of earlier spans are carried in y.
                        first == 0 ? _mm256_setzero_ps() : UnsafeRawPointer(p).loadUnaligned(as: __m256.self)
                    }
                    var acc = (start(out.0), start(out.1), start(out.2), start(out.3))
                    let x = (xq + j.0 * cols, xq + j.1 * cols, xq + j.2 * cols, xq + j.3 * cols)
                    let d = (xd + j.0 * slices, xd + j.1 * slices, xd + j.2 * slices, xd + j.3 * slices)
                    let sums = (xs + 2 * j.0 * slices, xs + 2 * j.1 * slices, xs + 2 * j.2 * slices, xs + 2 * j.3 * slices)
                    for t in 0..<count {
                        let a = first + t, o = 32 * a
                        expandedAccumulate4(&acc, units + t * expandedUnitBytes, (x.0 + o, x.1 + o, x.2 + o, x.3 + o),
                                            SIMD4(d.0[a], d.1[a], d.2[a], d.3[a]),
                                            SIMD4(Float(sums.0[2 * a]), Float(sums.1[2 * a]), Float(sums.2[2 * a]), Float(sums.3[2 * a])),
                                            SIMD4(Float(sums.0[2 * a + 1]), Float(sums.1[2 * a + 1]), Float(sums.2[2 * a + 1]), Float(sums.3[2 * a + 1])))
                    }
                    UnsafeMutableRawPointer(out.3).storeBytes(of: acc.3, as: __m256.self)
                    UnsafeMutableRawPointer(out.2).storeBytes(of: acc.2, as: __m256.self)
                    UnsafeMutableRawPointer(out.1).storeBytes(of: acc.1, as: __m256.self)
                    UnsafeMutableRawPointer(out.0).storeBytes(of: acc.0, as: __m256.self)
                    c += 4
                }
                first += count
            }
        }
    }
}

public typealias ExpandedKernel = (_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ groupStart: Int, _ groupEnd: Int,
                                   _ colStart: Int, _ colEnd: Int, _ superBlocks: Int,
                                   _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                                   _ y: UnsafeMutablePointer<Float>) -> Void

public func q4_KExpanded(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                         _ superBlocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                         _ y: UnsafeMutablePointer<Float>) {
    expandedRows(w, rowBytes, rows, groupStart, groupEnd, colStart, colEnd, superBlocks, 144, xq, xd, xs, y) { kSlice($0, $1, qhOffset: nil) }
}

public func q5_KExpanded(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                         _ superBlocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                         _ y: UnsafeMutablePointer<Float>) {
    expandedRows(w, rowBytes, rows, groupStart, groupEnd, colStart, colEnd, superBlocks, 176, xq, xd, xs, y) { kSlice($0, $1, qhOffset: 16) }
}

public func q6_KExpanded(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ groupStart: Int, _ groupEnd: Int, _ colStart: Int, _ colEnd: Int,
                         _ superBlocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                         _ y: UnsafeMutablePointer<Float>) {
    expandedRows(w, rowBytes, rows, groupStart, groupEnd, colStart, colEnd, superBlocks, 210, xq, xd, xs, y) { q6Slice($0, $1) }
}
#endif
