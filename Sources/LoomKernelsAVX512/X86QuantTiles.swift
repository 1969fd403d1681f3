// Prompt-time (batch > 1) kernels for the 32-weight block formats: a tile of
// 4 weight rows × 4 activation rows. Each weight block is unpacked once to unsigned bytes U
// (q plus an offset that makes it unsigned) and meets four activation blocks with one vpdpbusd
// each; the offset and min terms do not touch the inner product at all: they are
// (m − offset·d) · (dx·Σq), accumulated four activation rows at a time in 128-bit FMAs. The same
// tile serves the K formats, one 32-weight slice at a time (`sliceTileRows`).
// Compiled twice like X86Interleaved.swift: with AVX-512 VNNI, and (through a symlink) with AVX2,
// where `dpbusd` is vpmaddubsw + vpmaddwd and saturates on bytes above 63; QuantizedMatrix takes
// on AVX2 only the tiles whose unsigned weights stay below 64.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// One weight block as unsigned bytes with its scale d and min m (0 for symmetric formats).
typealias UnsignedBlock = (UnsafeRawPointer) -> (u: __m256i, d: Float, m: Float)

/// Slice `j` (32 weights) of one block: weights as unsigned bytes, the per-lane scale (lanes 0–3
/// cover weights 0–15, lanes 4–7 weights 16–31), and the constants c₀, c₁ that multiply Σx over
/// weights 0–15 and 16–31: Σ w·x = Σ scale·u·x + c₀·Σx₀ + c₁·Σx₁.
typealias KSlice = (_ block: UnsafeRawPointer, _ j: Int) -> (u: __m256i, scale: __m256, low: Float, high: Float)

/// y[c, r] for r in rowStart..<rowEnd (a multiple of 4) and c in colStart..<colEnd (a multiple
/// of 4), with `blocks` blocks of `slicesPerBlock` 32-weight slices per row; activations `xq`
/// [batch, cols], `xd` [batch, cols/32], `xs` [batch, cols/16]; y [batch, rows].
@inline(__always)
func sliceTileRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int,
                   _ colStart: Int, _ colEnd: Int, _ blocks: Int, slicesPerBlock: Int, _ blockBytes: Int,
                   _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                   _ y: UnsafeMutablePointer<Float>, _ slice: KSlice) {
    let slices = slicesPerBlock * blocks, cols = 32 * slices
    var r = rowStart
    while r < rowEnd {
        let w0 = w + r * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes
        var c = colStart
        while c < colEnd {
            // acc[i][j]: weight row r+i, activation row c+j.
            var a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00
            var a10 = a00, a11 = a00, a12 = a00, a13 = a00
            var a20 = a00, a21 = a00, a22 = a00, a23 = a00
            var a30 = a00, a31 = a00, a32 = a00, a33 = a00
            // k[i] lane j: the affine terms of weight row r+i against activation row c+j.
            var k0 = _mm_setzero_ps(), k1 = k0, k2 = k0, k3 = k0
            let x0 = xq + c * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols
            let d0 = xd + c * slices, d1 = d0 + slices, d2 = d1 + slices, d3 = d2 + slices
            let s0 = xs + 2 * c * slices, s1 = s0 + 2 * slices, s2 = s1 + 2 * slices, s3 = s2 + 2 * slices
            for b in 0..<blocks {
                let o = b * blockBytes
                for j in 0..<slicesPerBlock {
                    let a = slicesPerBlock * b + j
                    let (u0, f0, l0, h0) = slice(w0 + o, j), (u1, f1, l1, h1) = slice(w1 + o, j)
                    let (u2, f2, l2, h2) = slice(w2 + o, j), (u3, f3, l3, h3) = slice(w3 + o, j)
                    let dx = _mm_setr_ps(d0[a], d1[a], d2[a], d3[a])
                    let low = _mm_mul_ps(dx, _mm_cvtepi32_ps(_mm_setr_epi32(s0[2 * a], s1[2 * a], s2[2 * a], s3[2 * a])))
                    let high = _mm_mul_ps(dx, _mm_cvtepi32_ps(_mm_setr_epi32(s0[2 * a + 1], s1[2 * a + 1], s2[2 * a + 1], s3[2 * a + 1])))
                    k0 = _mm_fmadd_ps(_mm_set1_ps(l0), low, _mm_fmadd_ps(_mm_set1_ps(h0), high, k0))
                    k1 = _mm_fmadd_ps(_mm_set1_ps(l1), low, _mm_fmadd_ps(_mm_set1_ps(h1), high, k1))
                    k2 = _mm_fmadd_ps(_mm_set1_ps(l2), low, _mm_fmadd_ps(_mm_set1_ps(h2), high, k2))
                    k3 = _mm_fmadd_ps(_mm_set1_ps(l3), low, _mm_fmadd_ps(_mm_set1_ps(h3), high, k3))
                    @inline(__always) func column(_ x: UnsafePointer<Int8>, _ dx: Float,
                                                  _ c0: inout __m256, _ c1: inout __m256, _ c2: inout __m256, _ c3: inout __m256) {
                        let xv = load256(x + 32 * a)
                        let bx = _mm256_set1_ps(dx)
                        c0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dotUnsignedSigned(u0, xv)), _mm256_mul_ps(f0, bx), c0)
                        c1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dotUnsignedSigned(u1, xv)), _mm256_mul_ps(f1, bx), c1)
                        c2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dotUnsignedSigned(u2, xv)), _mm256_mul_ps(f2, bx), c2)
                        c3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dotUnsignedSigned(u3, xv)), _mm256_mul_ps(f3, bx), c3)
                    }
                    column(x0, d0[a], &a00, &a10, &a20, &a30)
                    column(x1, d1[a], &a01, &a11, &a21, &a31)
                    column(x2, d2[a], &a02, &a12, &a22, &a32)
                    column(x3, d3[a], &a03, &a13, &a23, &a33)
                }
            }
            @inline(__always) func store(_ i: Int, _ k: __m128, _ c0: __m256, _ c1: __m256, _ c2: __m256, _ c3: __m256) {
                y[c * rows + r + i] = horizontalSum(c0) + k[0]
                y[(c + 1) * rows + r + i] = horizontalSum(c1) + k[1]
                y[(c + 2) * rows + r + i] = horizontalSum(c2) + k[2]
                y[(c + 3) * rows + r + i] = horizontalSum(c3) + k[3]
            }
            store(0, k0, a00, a01, a02, a03)
            store(1, k1, a10, a11, a12, a13)
            store(2, k2, a20, a21, a22, a23)
            store(3, k3, a30, a31, a32, a33)
            c += 4
        }
        r += 4
    }
}

/// The 32-weight block formats on the slice tile: one slice per block, weight = d·U + (m − offset·d).
@inline(__always)
func tileRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int,
              _ colStart: Int, _ colEnd: Int, _ blocks: Int, _ blockBytes: Int, offset: Float,
              _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
              _ y: UnsafeMutablePointer<Float>, _ unpack: UnsignedBlock) {
    sliceTileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, slicesPerBlock: 1, blockBytes,
                  xq, xd, xs, y) { block, _ in
        let (u, d, m) = unpack(block)
        let affine = m - offset * d
        return (u, _mm256_set1_ps(d), affine, affine)
    }
}

public typealias TileKernel = (_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int,
                               _ colStart: Int, _ colEnd: Int, _ blocks: Int,
                               _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
                               _ y: UnsafeMutablePointer<Float>) -> Void

public func q8_0Tile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                     _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    let flip = _mm256_set1_epi8(-128)
    tileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, 34, offset: 128, xq, xd, xs, y) { block in
        (_mm256_xor_si256(load256(block + 2), flip), loadHalf(block), 0)
    }
}

public func q4_0Tile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                     _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    tileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, 18, offset: 8, xq, xd, xs, y) { block in
        (unpackNibbles(block + 2), loadHalf(block), 0)
    }
}

public func q4_1Tile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                     _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    tileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, 20, offset: 0, xq, xd, xs, y) { block in
        (unpackNibbles(block + 4), loadHalf(block), loadHalf(block + 2))
    }
}

public func q5_0Tile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                     _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    tileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, 22, offset: 16, xq, xd, xs, y) { block in
        (_mm256_or_si256(unpackNibbles(block + 6), fifthBits(block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))), loadHalf(block), 0)
    }
}

public func q5_1Tile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                     _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    tileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, 24, offset: 0, xq, xd, xs, y) { block in
        (_mm256_or_si256(unpackNibbles(block + 8), fifthBits(block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))),
         loadHalf(block), loadHalf(block + 2))
    }
}

public func iq4_nlTile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    let table = iq4UnsignedTable()
    tileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, 18, offset: 128, xq, xd, xs, y) { block in
        (_mm256_shuffle_epi8(table, unpackNibbles(block + 2)), loadHalf(block), 0)
    }
}

/// iq4_xs on the slice tile: 8 slices per 136-byte block, slice j the table's unsigned bytes
/// (as iq4_nl's) at its own scale (`iq4_xsSubScale`).
public func iq4_xsTile(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int, _ colStart: Int, _ colEnd: Int,
                       _ blocks: Int, _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>, _ y: UnsafeMutablePointer<Float>) {
    let table = iq4UnsignedTable()
    sliceTileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, slicesPerBlock: 8, 136, xq, xd, xs, y) { block, j in
        let scale = iq4_xsSubScale(block, d: loadHalf(block), j)
        let affine = -128 * scale
        return (_mm256_shuffle_epi8(table, unpackNibbles(block + 8 + 16 * j)), _mm256_set1_ps(scale), affine, affine)
    }
}
#endif
