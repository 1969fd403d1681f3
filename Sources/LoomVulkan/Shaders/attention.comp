#version 450
// Causal attention of each query row and head over its sequence's paged cache (f16, or
// ExLlamaV2's 8- and 4-bit groups), read through the page table (no gathered copy). One workgroup per (row, head): its 64 threads
// score 64 positions at a time, then each accumulates its own output elements over them, with
// the running maximum and sum of an online softmax. Sums are f32. Scores may be soft-capped
// (cap · tanh(score / cap), Gemma 2), and a sink logit per head may join the softmax without a
// value (gpt-oss). A quantized plane holds rotated groups: the query is rotated into the keys'
// basis once, and the output back from the values' basis once.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 64) in;

layout(push_constant) uniform Args {
    Floats queries;     // [rows, heads, headDim]
    Words keyPlane;     // [pages, kvHeads, pageTokens, row] with rows of cacheRowWords(keyBits)
    Words valuePlane;
    Ints pageTables;    // the batch's page tables, concatenated
    Ints rowPositions;  // [rows]: each row's position in its sequence
    Ints rowTables;     // [rows]: where each row's page table starts in pageTables
    MutableFloats out_; // [rows, heads, headDim]
    uint rows;
    uint heads;
    uint kvHeads;
    uint headDim;
    uint pageTokens;
    float scale;
    uint window;        // positions a row sees, itself included; 0: all
    float softcap;      // 0: none
    uint hasSinks;
    Floats sinks;       // [heads], read when hasSinks is 1
    uint keyBits;       // 16, 8 or 4
    uint valueBits;
} a;

const uint THREADS = 64;
const uint MAX_HEAD_DIM = 256;
const uint PER_THREAD = MAX_HEAD_DIM / THREADS;
shared float query[MAX_HEAD_DIM];
shared float weights[THREADS];
shared float reduction[THREADS];

void main() {
    const uint task = flatWorkgroup();
    if (task >= a.rows * a.heads) return;
    const uint row = task / a.heads, head = task % a.heads, t = gl_LocalInvocationID.x;
    const uint kvHead = head / (a.heads / a.kvHeads);
    const uint position = uint(a.rowPositions.v[row]);
    const uint table = uint(a.rowTables.v[row]);
    const uint first = (a.window != 0 && position + 1 > a.window) ? position + 1 - a.window : 0;
    for (uint d = t; d < a.headDim; d += THREADS) query[d] = a.queries.v[task * a.headDim + d];
    barrier();
    if (a.keyBits != 16) {
        if (t < a.headDim / 32) {
            float group[32];
            for (uint i = 0; i < 32; i++) group[i] = query[32 * t + i];
            hadamard32(group);
            for (uint i = 0; i < 32; i++) query[32 * t + i] = group[i];
        }
        barrier();
    }
    const uint keyWords = cacheRowWords(a.keyBits, a.headDim), valueWords = cacheRowWords(a.valueBits, a.headDim);

    float runningMax = -1.0 / 0.0, runningSum = 0.0;
    float acc[PER_THREAD];
    for (uint i = 0; i < PER_THREAD; i++) acc[i] = 0.0;
    for (uint chunk = first; chunk <= position; chunk += THREADS) {
        const uint j = chunk + t;
        float score = -1.0 / 0.0;
        if (j <= position) {
            const uint page = uint(a.pageTables.v[table + j / a.pageTokens]);
            const uint base = ((page * a.kvHeads + kvHead) * a.pageTokens + j % a.pageTokens) * keyWords;
            float dot = 0.0;
            for (uint d = 0; d < a.headDim; d++) dot += query[d] * cacheValue(a.keyPlane, base, a.keyBits, d);
            score = dot * a.scale;
            if (a.softcap > 0.0) score = a.softcap * tanh(score / a.softcap);
        }
        reduction[t] = score;
        barrier();
        for (uint stride = THREADS / 2; stride > 0; stride /= 2) {
            if (t < stride) reduction[t] = max(reduction[t], reduction[t + stride]);
            barrier();
        }
        const float newMax = max(runningMax, reduction[0]);
        barrier();
        const float weight = j <= position ? exp(score - newMax) : 0.0;
        weights[t] = weight;
        reduction[t] = weight;
        barrier();
        for (uint stride = THREADS / 2; stride > 0; stride /= 2) {
            if (t < stride) reduction[t] += reduction[t + stride];
            barrier();
        }
        const float factor = exp(runningMax - newMax);
        runningSum = runningSum * factor + reduction[0];
        runningMax = newMax;
        const uint count = min(THREADS, position + 1 - chunk);
        for (uint i = 0; i < PER_THREAD; i++) {
            const uint d = t + i * THREADS;
            if (d >= a.headDim) break;
            float sum = acc[i] * factor;
            for (uint k = 0; k < count; k++) {
                const uint jj = chunk + k;
                const uint page = uint(a.pageTables.v[table + jj / a.pageTokens]);
                const uint base = ((page * a.kvHeads + kvHead) * a.pageTokens + jj % a.pageTokens) * valueWords;
                sum += weights[k] * cacheValue(a.valuePlane, base, a.valueBits, d);
            }
            acc[i] = sum;
        }
        barrier();
    }
    if (a.hasSinks != 0) {
        // The sink joins the softmax's denominator only.
        const float sink = a.sinks.v[head], newMax = max(runningMax, sink), factor = exp(runningMax - newMax);
        runningSum = runningSum * factor + exp(sink - newMax);
        for (uint i = 0; i < PER_THREAD; i++) acc[i] *= factor;
    }
    if (a.valueBits != 16) {
        // Back from the values' basis: the transform is its own inverse. `query` is free now.
        barrier();
        for (uint i = 0; i < PER_THREAD; i++) {
            const uint d = t + i * THREADS;
            if (d < a.headDim) query[d] = acc[i] / runningSum;
        }
        barrier();
        if (t < a.headDim / 32) {
            float group[32];
            for (uint i = 0; i < 32; i++) group[i] = query[32 * t + i];
            hadamard32(group);
            for (uint i = 0; i < 32; i++) a.out_.v[task * a.headDim + 32 * t + i] = group[i];
        }
        return;
    }
    for (uint i = 0; i < PER_THREAD; i++) {
        const uint d = t + i * THREADS;
        if (d < a.headDim) a.out_.v[task * a.headDim + d] = acc[i] / runningSum;
    }
}
