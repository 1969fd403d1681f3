// bf16 × bf16 dot-product kernels (AVX-512 BF16, vdpbf16ps) for bf16 weight matrices.
//
// C, not Swift, because Swift 6.3 cannot import `__m512bh` or `_mm512_dpbf16_ps` (the `__bf16`
// vector type has no Swift counterpart). Each function carries its own target attribute; the
// module is compiled for baseline x86-64, and LoomKernels calls in only when CPUID reports
// AVX-512 BF16. On other architectures nothing is declared or compiled.
#ifndef LOOM_KERNELS_BF16C_H
#define LOOM_KERNELS_BF16C_H

#include <stdint.h>

#if defined(__x86_64__)

/// Elements in one split activation row: `cols` rounded up to 32 (one zmm of bf16).
static inline long loom_bf16_split_stride(long cols) { return (cols + 31) & ~31L; }

/// Splits rows `row_start..<row_end` of `x` ([batch, cols] f32) into two bf16 terms,
/// hi = bf16(x) and lo = bf16(x - hi), so that hi + lo carries about 16 significant bits.
/// `out` is [batch, 2, stride] bf16 (stride = loom_bf16_split_stride(cols), 64-byte aligned
/// when `out` is): each row's hi run, then its lo run, zero-padded past `cols`.
/// An infinite or NaN x keeps hi = x and gets lo = 0, so it propagates as an f32 product would;
/// a finite x beyond the largest finite bf16 gets hi = ±that value rather than infinity.
void loom_bf16_split(const float *x, long cols, long row_start, long row_end, uint16_t *out);

/// y[c, r] = W[r, :]·x[c, :] for r in row_start..<row_end and c in col_start..<col_end (both
/// ranges multiples of 4 long), with w [rows, cols] bf16 row-major read where it lies, xs the
/// split activations from loom_bf16_split and y [batch, rows] f32. Two vdpbf16ps per weight
/// vector (hi, then lo); products of bf16 pairs are exact in f32, sums round as f32 FMA does.
void loom_bf16_tile(const uint16_t *w, long rows, long cols, long row_start, long row_end,
                    long col_start, long col_end, const uint16_t *xs, float *y);

/// y[r] = W[r, :]·x for r in start..<end (decode), with xs one split row from loom_bf16_split.
void loom_bf16_rows(const uint16_t *w, long cols, long start, long end, const uint16_t *xs, float *y);

#endif
#endif
