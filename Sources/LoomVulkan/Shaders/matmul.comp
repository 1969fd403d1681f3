#version 450
// y[b, r] = Σ_c W[r, c] · x[b, c], for one weight type chosen at compile time (F16, Q8_0, Q4_0).
// One workgroup per weight row; its 64 threads split the row's blocks and reduce in shared
// memory. Batch rows are taken 8 at a time, so each weight block is read once per 8 rows.
// Sums are f32.
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

#if defined(TYPE_F16)
const uint BLOCK = 1;
#elif defined(TYPE_Q8_0)
const uint BLOCK = 32;
const uint BLOCK_WORDS = 17;  // f16 scale + 32 int8
#elif defined(TYPE_Q4_0)
const uint BLOCK = 32;
const uint BLOCK_WORDS = 9;   // f16 scale + 16 bytes of nibbles
#endif

void main() {
    const uint row = flatWorkgroup();
    if (row >= a.rows) return;   // uniform across the workgroup
    const uint t = gl_LocalInvocationID.x;
    for (uint b0 = 0; b0 < a.batch; b0 += BATCH_TILE) {
        const uint tile = min(BATCH_TILE, a.batch - b0);
        float acc[BATCH_TILE];
        for (uint j = 0; j < BATCH_TILE; j++) acc[j] = 0.0;
#if defined(TYPE_F16)
        const uint base = row * a.cols;
        for (uint c = t; c < a.cols; c += THREADS) {
            const float wv = HALF_TO_FLOAT(a.w.v[base + c]);
            for (uint j = 0; j < tile; j++) acc[j] += wv * a.x.v[(b0 + j) * a.cols + c];
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
