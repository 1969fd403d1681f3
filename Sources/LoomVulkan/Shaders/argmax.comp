#version 450
// out[b] = the index of the largest of x[b, :] (the lowest index among equals, as the CPU's
// greedy sampler picks). One workgroup per row.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    Floats x;           // [rows, width]
    MutableInts out_;   // [rows]
    uint rows;
    uint width;
} a;

shared float bestValue[256];
shared uint bestIndex[256];

void main() {
    const uint row = flatWorkgroup();
    if (row >= a.rows) return;
    const uint t = gl_LocalInvocationID.x, base = row * a.width;
    float value = -1.0 / 0.0;
    uint index = 0xFFFFFFFFu;
    for (uint i = t; i < a.width; i += 256) {
        const float v = a.x.v[base + i];
        if (v > value || index == 0xFFFFFFFFu) { value = v; index = i; }
    }
    bestValue[t] = value;
    bestIndex[t] = index;
    barrier();
    for (uint stride = 128; stride > 0; stride /= 2) {
        if (t < stride) {
            const float v = bestValue[t + stride];
            const uint i = bestIndex[t + stride];
            if (i != 0xFFFFFFFFu && (bestIndex[t] == 0xFFFFFFFFu || v > bestValue[t] || (v == bestValue[t] && i < bestIndex[t]))) {
                bestValue[t] = v;
                bestIndex[t] = i;
            }
        }
        barrier();
    }
    if (t == 0) a.out_.v[row] = int(bestIndex[0]);
}
