// AVX-512 BF16 kernels; see include/LoomKernelsBF16C.h. The target attribute on each function
// (not a module-wide -m flag) keeps the rest of the binary runnable on any x86-64.
#include "LoomKernelsBF16C.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/// The 16 bf16 values in `h` widened to f32 (exact).
BF16_TARGET static inline __m512 widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/// The lanes below `count` (0...32) of a 32-lane mask.
static inline __mmask32 first_lanes(long count) {
    return count >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << count) - 1u);
}

BF16_TARGET
void loom_bf16_split(const float *x, long cols, long row_start, long row_end, uint16_t *out) {
    const long stride = loom_bf16_split_stride(cols);
    for (long b = row_start; b < row_end; b++) {
        const float *row = x + b * cols;
        uint16_t *hi = out + b * 2 * stride, *lo = hi + stride;  // [stride] each
        for (long k = 0; k < stride; k += 16) {
            const long left = cols - k;
            const __mmask16 m = left >= 16 ? 0xFFFF : left > 0 ? (__mmask16)((1u << left) - 1u) : 0;
            const __m512 v = _mm512_maskz_loadu_ps(m, row + k);  // zero past cols
            __m256i h = (__m256i)_mm512_cvtneps_pbh(v);           // round to nearest even
            // A finite x above the largest finite bf16 rounds up to infinity; take hi = ±that
            // largest value (one below infinity's bits) instead, so lo carries the rest.
            const __m512 inf = _mm512_set1_ps(__builtin_inff());
            const __mmask16 overflow = _mm512_cmp_ps_mask(_mm512_abs_ps(widen(h)), inf, _CMP_EQ_OQ)
                                     & _mm512_cmp_ps_mask(_mm512_abs_ps(v), inf, _CMP_LT_OQ);
            h = _mm256_mask_sub_epi16(h, overflow, h, _mm256_set1_epi16(1));
            __m512 r = _mm512_sub_ps(v, widen(h));
            // x - hi is exact in f32. It is NaN only for an infinite or NaN x, which hi carries alone.
            r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(r, r, _CMP_ORD_Q), r);
            _mm256_storeu_si256((__m256i *)(hi + k), h);
            _mm256_storeu_si256((__m256i *)(lo + k), (__m256i)_mm512_cvtneps_pbh(r));
        }
    }
}

/// a, b, c, d folded to 128 bits each: the result's 128-bit lanes are four partial sums of a, of
/// b, of c and of d.
BF16_TARGET static inline __m512 fold4(__m512 a, __m512 b, __m512 c, __m512 d) {
    // imm 0x44 / 0xEE: lanes 0,1 / 2,3 of each source; 0x88 / 0xDD: lanes 0,2 / 1,3.
    const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xEE));
    return _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xDD));
}

/// Stores the sums of a 4×4 tile of accumulators: y[(c + j) * rows + i] = Σ a[i][j], with y
/// already offset to (c, r). One transposing reduction instead of 16 separate ones made the
/// 4864×896 tile 3–4% faster (bench-kernels --shape 4864x896, one thread).
BF16_TARGET static inline void store_sums4x4(__m512 a[4][4], float *y, long rows) {
    // p_i: 128-bit lane j holds four partial sums of a[i][j].
    const __m512 p0 = fold4(a[0][0], a[0][1], a[0][2], a[0][3]), p1 = fold4(a[1][0], a[1][1], a[1][2], a[1][3]);
    const __m512 p2 = fold4(a[2][0], a[2][1], a[2][2], a[2][3]), p3 = fold4(a[3][0], a[3][1], a[3][2], a[3][3]);
    // 4×4 transpose-and-add within each lane: lane j becomes [Σa[0][j], Σa[1][j], Σa[2][j], Σa[3][j]].
    const __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(p0, p1), _mm512_unpackhi_ps(p0, p1));
    const __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(p2, p3), _mm512_unpackhi_ps(p2, p3));
    const __m512d e01 = _mm512_castps_pd(s01), e23 = _mm512_castps_pd(s23);
    const __m512 sums = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(e01, e23)), _mm512_castpd_ps(_mm512_unpackhi_pd(e01, e23)));
    _mm_storeu_ps(y, _mm512_castps512_ps128(sums));
    _mm_storeu_ps(y + rows, _mm512_extractf32x4_ps(sums, 1));
    _mm_storeu_ps(y + 2 * rows, _mm512_extractf32x4_ps(sums, 2));
    _mm_storeu_ps(y + 3 * rows, _mm512_extractf32x4_ps(sums, 3));
}

/// acc += w·hi + w·lo over one 32-column step (16 pairs per vdpbf16ps).
#define DOT2(acc, wv, xh, xl) \
    acc = _mm512_dpbf16_ps(_mm512_dpbf16_ps(acc, (__m512bh)(wv), (__m512bh)(xh)), (__m512bh)(wv), (__m512bh)(xl))

BF16_TARGET
void loom_bf16_tile(const uint16_t *w, long rows, long cols, long row_start, long row_end,
                    long col_start, long col_end, const uint16_t *xs, float *y) {
    const long stride = loom_bf16_split_stride(cols);
    const long full = cols & ~31L;
    const __mmask32 tail = first_lanes(cols - full);
    // Activation rows outside, weight rows inside, as in the Swift tile (X86FloatTiles.swift):
    // four split activation rows stay in L1 while the caller's row tile passes over them.
    for (long c = col_start; c < col_end; c += 4) {
        const uint16_t *x0 = xs + c * 2 * stride;  // [4, 2, stride]: hi at xj, lo at xj + stride
        const uint16_t *x1 = x0 + 2 * stride, *x2 = x1 + 2 * stride, *x3 = x2 + 2 * stride;
        for (long r = row_start; r < row_end; r += 4) {
            const uint16_t *w0 = w + r * cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
            __m512 a[4][4];
            for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) a[i][j] = _mm512_setzero_ps();
            long k = 0;
            for (; k < full; k += 32) {
                const __m512i v0 = _mm512_loadu_si512(w0 + k), v1 = _mm512_loadu_si512(w1 + k);
                const __m512i v2 = _mm512_loadu_si512(w2 + k), v3 = _mm512_loadu_si512(w3 + k);
#define COLUMN(j, xj) do { \
                    const __m512i h = _mm512_loadu_si512(xj + k), l = _mm512_loadu_si512(xj + stride + k); \
                    DOT2(a[0][j], v0, h, l); DOT2(a[1][j], v1, h, l); DOT2(a[2][j], v2, h, l); DOT2(a[3][j], v3, h, l); \
                } while (0)
                COLUMN(0, x0); COLUMN(1, x1); COLUMN(2, x2); COLUMN(3, x3);
            }
            if (tail) {  // the weight row ends inside this step: masked loads never touch past it
                const __m512i v0 = _mm512_maskz_loadu_epi16(tail, w0 + k), v1 = _mm512_maskz_loadu_epi16(tail, w1 + k);
                const __m512i v2 = _mm512_maskz_loadu_epi16(tail, w2 + k), v3 = _mm512_maskz_loadu_epi16(tail, w3 + k);
                COLUMN(0, x0); COLUMN(1, x1); COLUMN(2, x2); COLUMN(3, x3);
            }
#undef COLUMN
            store_sums4x4(a, y + c * rows + r, rows);
        }
    }
}

BF16_TARGET
void loom_bf16_rows(const uint16_t *w, long cols, long start, long end, const uint16_t *xs, float *y) {
    const long stride = loom_bf16_split_stride(cols);
    const long wide = cols & ~127L, full = cols & ~31L;
    const __mmask32 tail = first_lanes(cols - full);
    const uint16_t *hi = xs, *lo = xs + stride;
    // One row at a time, one sequential weight stream (see floatRows8 in X86FloatKernels.swift).
    for (long r = start; r < end; r++) {
        const uint16_t *row = w + r * cols;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        long k = 0;
        for (; k < wide; k += 128) {
            DOT2(a0, _mm512_loadu_si512(row + k), _mm512_loadu_si512(hi + k), _mm512_loadu_si512(lo + k));
            DOT2(a1, _mm512_loadu_si512(row + k + 32), _mm512_loadu_si512(hi + k + 32), _mm512_loadu_si512(lo + k + 32));
            DOT2(a2, _mm512_loadu_si512(row + k + 64), _mm512_loadu_si512(hi + k + 64), _mm512_loadu_si512(lo + k + 64));
            DOT2(a3, _mm512_loadu_si512(row + k + 96), _mm512_loadu_si512(hi + k + 96), _mm512_loadu_si512(lo + k + 96));
        }
        for (; k < full; k += 32) DOT2(a0, _mm512_loadu_si512(row + k), _mm512_loadu_si512(hi + k), _mm512_loadu_si512(lo + k));
        if (tail) DOT2(a1, _mm512_maskz_loadu_epi16(tail, row + k), _mm512_loadu_si512(hi + k), _mm512_loadu_si512(lo + k));
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    }
}
#endif
