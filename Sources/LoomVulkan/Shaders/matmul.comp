#version 450
// y[b, r] = Σ_c W[r, c] · x[b, c], for one weight type chosen at compile time (F32, F16, BF16,
// Q8_0, Q4_0, MXFP4, and the K formats Q4_K, Q5_K, Q6_K).
// One workgroup per weight row; its 64 threads split the row's runs of 32 weights (a block of
// Q8_0/Q4_0, an eighth of a K block) and reduce in shared memory. Batch rows are taken 8 at a
// time, so each weight run is read once per 8 rows. Sums are f32.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 64) in;

layout(push_constant) uniform Args {
    Words w;            // [rows, cols] in the type's blocks, GGUF layout
    Floats x;           // [batch, cols]
    MutableFloats y;    // [batch, rows]
    uint rows;
    uint cols;
    uint batch;
} a;

const uint THREADS = 64;
const uint BATCH_TILE = 8;
shared float partial[BATCH_TILE][THREADS];

#if defined(TYPE_F32) || defined(TYPE_F16) || defined(TYPE_BF16)
const uint BLOCK = 1;
#elif defined(TYPE_Q8_0)
const uint BLOCK = 32;
const uint BLOCK_WORDS = 17;  // f16 scale + 32 int8
#elif defined(TYPE_Q4_0)
const uint BLOCK = 32;
const uint BLOCK_WORDS = 9;   // f16 scale + 16 bytes of nibbles
#elif defined(TYPE_MXFP4)
const uint BLOCK = 32;
const uint BLOCK_BYTES = 17;  // an E8M0 exponent + 16 bytes of E2M1 nibbles: blocks start at any byte
#elif defined(TYPE_Q4_K)
const uint BLOCK = 32;        // a run: one of the 8 sub-blocks of a 256-weight block
const uint BLOCK_WORDS = 72;  // d, dmin, scales[12], qs[128]
#elif defined(TYPE_Q5_K)
const uint BLOCK = 32;
const uint BLOCK_WORDS = 88;  // d, dmin, scales[12], qh[32], qs[128]
#elif defined(TYPE_Q6_K)
const uint BLOCK = 32;
const uint BLOCK_WORDS = 105; // ql[128], qh[64], scales[16], d
#endif

#if defined(TYPE_Q4_K) || defined(TYPE_Q5_K) || defined(TYPE_Q6_K)
// Byte `i` of the block at word `base`.
uint blockByte(uint base, uint i) { return (uint(a.w.v[base + i / 2]) >> (8 * (i & 1))) & 255u; }
#endif
#if defined(TYPE_MXFP4)
// Byte `i` of the weights.
uint weightByte(uint i) { return (uint(a.w.v[i / 2]) >> (8 * (i & 1))) & 255u; }
// The doubled E2M1 values the nibbles index, and half the block scale, 2^(e − 128), built from
// bits as ggml builds it (subnormal for e < 2).
const float E2M1[16] = float[16](0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
float halfScale(uint e) { return uintBitsToFloat(e < 2 ? (0x00200000u << e) : ((e - 1) << 23)); }
#endif
#if defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
// The 6-bit scale and min of sub-block j, packed in the 12 bytes from byte 4.
void scaleMin(uint base, uint j, out float scale, out float minimum) {
    if (j < 4) {
        scale = float(blockByte(base, 4 + j) & 63u);
        minimum = float(blockByte(base, 8 + j) & 63u);
    } else {
        scale = float((blockByte(base, 8 + j) & 15u) | ((blockByte(base, j) >> 6) << 4));
        minimum = float((blockByte(base, 8 + j) >> 4) | ((blockByte(base, 4 + j) >> 6) << 4));
    }
}
#endif

void main() {
    const uint row = flatWorkgroup();
    if (row >= a.rows) return;   // uniform across the workgroup
    const uint t = gl_LocalInvocationID.x;
    for (uint b0 = 0; b0 < a.batch; b0 += BATCH_TILE) {
        const uint tile = min(BATCH_TILE, a.batch - b0);
        float acc[BATCH_TILE];
        for (uint j = 0; j < BATCH_TILE; j++) acc[j] = 0.0;
#if defined(TYPE_F32) || defined(TYPE_F16) || defined(TYPE_BF16)
        const uint base = row * a.cols;
        for (uint c = t; c < a.cols; c += THREADS) {
#if defined(TYPE_F32)
            const float wv = uintBitsToFloat(uint(a.w.v[2 * (base + c)]) | (uint(a.w.v[2 * (base + c) + 1]) << 16));
#elif defined(TYPE_F16)
            const float wv = HALF_TO_FLOAT(a.w.v[base + c]);
#else
            const float wv = uintBitsToFloat(uint(a.w.v[base + c]) << 16);
#endif
            for (uint j = 0; j < tile; j++) acc[j] += wv * a.x.v[(b0 + j) * a.cols + c];
        }
#else
#if defined(TYPE_Q4_K) || defined(TYPE_Q5_K) || defined(TYPE_Q6_K)
        const uint runs = a.cols / 32, blocksPerRow = a.cols / 256;
        for (uint run = t; run < runs; run += THREADS) {
            const uint base = (row * blocksPerRow + run / 8) * BLOCK_WORDS, sub = run % 8;
            float wv[BLOCK];
            float d = 1.0;
#if defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
            float scale, minimum;
            scaleMin(base, sub, scale, minimum);
            const float ds = HALF_TO_FLOAT(a.w.v[base]) * scale, dm = HALF_TO_FLOAT(a.w.v[base + 1]) * minimum;
#if defined(TYPE_Q4_K)
            const uint qs = 16 + 32 * (sub / 2), shift = 4 * (sub % 2);
            for (uint l = 0; l < 32; l++) wv[l] = ds * float((blockByte(base, qs + l) >> shift) & 15u) - dm;
#else
            const uint qs = 48 + 32 * (sub / 2), shift = 4 * (sub % 2);
            for (uint l = 0; l < 32; l++) {
                const uint high = (blockByte(base, 16 + l) >> sub) & 1u;
                wv[l] = ds * float(((blockByte(base, qs + l) >> shift) & 15u) | (high << 4)) - dm;
            }
#endif
#else
            // Q6_K: sub-block s is the (s % 4)-th quarter of the (s / 4)-th half of 128.
            const uint half_ = sub / 4, quarter = sub % 4;
            const float dd = HALF_TO_FLOAT(a.w.v[base + 104]);
            const uint ql = 64 * half_ + 32 * (quarter % 2), qh = 128 + 32 * half_, shift = 4 * (quarter / 2);
            for (uint l = 0; l < 32; l++) {
                const int scale = int(blockByte(base, 192 + 8 * half_ + l / 16 + 2 * quarter) << 24) >> 24;
                const uint q = ((blockByte(base, ql + l) >> shift) & 15u) | (((blockByte(base, qh + l) >> (2 * quarter)) & 3u) << 4);
                wv[l] = dd * float(scale) * float(int(q) - 32);
            }
#endif
            const uint blk = run;
#elif defined(TYPE_MXFP4)
        const uint blocks = a.cols / BLOCK;
        for (uint blk = t; blk < blocks; blk += THREADS) {
            const uint base = (row * blocks + blk) * BLOCK_BYTES;
            const float d = halfScale(weightByte(base));
            float wv[BLOCK];
            for (uint i = 0; i < 16; i++) {
                const uint q = weightByte(base + 1 + i);
                wv[i] = E2M1[q & 15u];
                wv[i + 16] = E2M1[q >> 4];
            }
#else
        const uint blocks = a.cols / BLOCK;
        for (uint blk = t; blk < blocks; blk += THREADS) {
            const uint base = (row * blocks + blk) * BLOCK_WORDS;
            const float d = HALF_TO_FLOAT(a.w.v[base]);
            float wv[BLOCK];
#if defined(TYPE_Q8_0)
            for (uint i = 0; i < 16; i++) {
                const int q = int(uint(a.w.v[base + 1 + i]));
                wv[2 * i] = float((q << 24) >> 24);
                wv[2 * i + 1] = float((q << 16) >> 24);
            }
#elif defined(TYPE_Q4_0)
            for (uint i = 0; i < 8; i++) {
                const uint q = uint(a.w.v[base + 1 + i]);
                wv[2 * i] = float(int(q & 15u) - 8);
                wv[2 * i + 16] = float(int((q >> 4) & 15u) - 8);
                wv[2 * i + 1] = float(int((q >> 8) & 15u) - 8);
                wv[2 * i + 17] = float(int((q >> 12) & 15u) - 8);
            }
#endif
#endif
            for (uint j = 0; j < tile; j++) {
                const uint xo = (b0 + j) * a.cols + blk * BLOCK;
                float s = 0.0;
                for (uint i = 0; i < BLOCK; i++) s += wv[i] * a.x.v[xo + i];
                acc[j] += d * s;
            }
        }
#endif
        for (uint j = 0; j < BATCH_TILE; j++) partial[j][t] = acc[j];
        barrier();
        for (uint stride = THREADS / 2; stride > 0; stride /= 2) {
            if (t < stride) {
                for (uint j = 0; j < BATCH_TILE; j++) partial[j][t] += partial[j][t + stride];
            }
            barrier();
        }
        if (t < tile) a.y.v[(b0 + t) * a.rows + row] = partial[t][0];
        barrier();
    }
}
