// Prompt-time (batch > 1) kernels for the 32-weight block formats, AVX-512 VNNI only: a tile of
// 4 weight rows × 4 activation rows. Each weight block is unpacked once to unsigned bytes U
// (q plus an offset that makes it unsigned) and meets four activation blocks with one vpdpbusd
// each; the offset and min terms do not touch the inner product at all: they are
// (m − offset·d) · (dx·Σq), accumulated four activation rows at a time in one 128-bit FMA.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// One weight block as unsigned bytes with its scale d and min m (0 for symmetric formats).
typealias UnsignedBlock = (UnsafeRawPointer) -> (u: __m256i, d: Float, m: Float)

/// y[c, r] for r in rowStart..<rowEnd (a multiple of 4 rows) and c in colStart..<colEnd (a
/// multiple of 4), with activations `xq` [batch, cols], `xd` [batch, cols/32], `xs` [batch, cols/16]
/// and y [batch, rows].
@inline(__always)
func tileRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ rows: Int, _ rowStart: Int, _ rowEnd: Int,
              _ colStart: Int, _ colEnd: Int, _ blocks: Int, _ blockBytes: Int, offset: Float,
              _ xq: UnsafePointer<Int8>, _ xd: UnsafePointer<Float>, _ xs: UnsafePointer<Int32>,
              _ y: UnsafeMutablePointer<Float>, _ unpack: UnsignedBlock) {
    let cols = 32 * blocks
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
            // corrections[i] lane j: Σ_b (m − offset·d)[r+i, b] · dx[c+j, b] · Σq[c+j, b]
            var k0 = _mm_setzero_ps(), k1 = k0, k2 = k0, k3 = k0
            let x0 = xq + c * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols
            let d0 = xd + c * blocks, d1 = d0 + blocks, d2 = d1 + blocks, d3 = d2 + blocks
            let s0 = xs + c * 2 * blocks, s1 = s0 + 2 * blocks, s2 = s1 + 2 * blocks, s3 = s2 + 2 * blocks
            for b in 0..<blocks {
                let o = b * blockBytes
                let (u0, dw0, m0) = unpack(w0 + o), (u1, dw1, m1) = unpack(w1 + o)
                let (u2, dw2, m2) = unpack(w2 + o), (u3, dw3, m3) = unpack(w3 + o)
                let dxs = _mm_setr_ps(d0[b], d1[b], d2[b], d3[b])
                let sums = _mm_cvtepi32_ps(_mm_setr_epi32(s0[2 * b] &+ s0[2 * b + 1], s1[2 * b] &+ s1[2 * b + 1],
                                                          s2[2 * b] &+ s2[2 * b + 1], s3[2 * b] &+ s3[2 * b + 1]))
                let xsum = _mm_mul_ps(dxs, sums)
                k0 = _mm_fmadd_ps(_mm_set1_ps(m0 - offset * dw0), xsum, k0)
                k1 = _mm_fmadd_ps(_mm_set1_ps(m1 - offset * dw1), xsum, k1)
                k2 = _mm_fmadd_ps(_mm_set1_ps(m2 - offset * dw2), xsum, k2)
                k3 = _mm_fmadd_ps(_mm_set1_ps(m3 - offset * dw3), xsum, k3)
                let bw0 = _mm256_set1_ps(dw0), bw1 = _mm256_set1_ps(dw1), bw2 = _mm256_set1_ps(dw2), bw3 = _mm256_set1_ps(dw3)
                @inline(__always) func column(_ x: UnsafePointer<Int8>, _ dx: Float,
                                              _ c0: inout __m256, _ c1: inout __m256, _ c2: inout __m256, _ c3: inout __m256) {
                    let xv = load256(x + 32 * b)
                    let bx = _mm256_set1_ps(dx)
                    let zero = _mm256_setzero_si256()
                    c0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_maskz_dpbusd_epi32(0xFF, zero, u0, xv)), _mm256_mul_ps(bw0, bx), c0)
                    c1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_maskz_dpbusd_epi32(0xFF, zero, u1, xv)), _mm256_mul_ps(bw1, bx), c1)
                    c2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_maskz_dpbusd_epi32(0xFF, zero, u2, xv)), _mm256_mul_ps(bw2, bx), c2)
                    c3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_maskz_dpbusd_epi32(0xFF, zero, u3, xv)), _mm256_mul_ps(bw3, bx), c3)
                }
                column(x0, d0[b], &a00, &a10, &a20, &a30)
                column(x1, d1[b], &a01, &a11, &a21, &a31)
                column(x2, d2[b], &a02, &a12, &a22, &a32)
                column(x3, d3[b], &a03, &a13, &a23, &a33)
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
    // kvalues_iq4nl + 128, as unsigned bytes.
    let table = _mm256_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, -127, -115, -103, -90, -75, -59, -39, -15,
                                 1, 24, 45, 63, 79, 93, 106, 118, -127, -115, -103, -90, -75, -59, -39, -15)
    tileRows(w, rowBytes, rows, rowStart, rowEnd, colStart, colEnd, blocks, 18, offset: 128, xq, xd, xs, y) { block in
        (_mm256_shuffle_epi8(table, unpackNibbles(block + 2)), loadHalf(block), 0)
    }
}
#endif
