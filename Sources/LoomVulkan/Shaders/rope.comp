#version 450
// Rotates each head of each row by its row's position, in place, from a table of cosines and
// sines ([positions, half] each). Pairs are (i, i + half) in the halves layout and (2i, 2i + 1)
// in the pairs layout. One thread per (row, head, pair).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    MutableFloats x;    // [rows, heads, headStride]
    Floats cosines;     // [positions, half]
    Floats sines;       // [positions, half]
    Ints positions;     // [rows]
    uint rows;
    uint heads;
    uint headStride;
    uint half_;
    uint pairs;         // 1: the pairs layout, 0: halves
} a;

void main() {
    const uint id = flatWorkgroup() * 256 + gl_LocalInvocationID.x;
    if (id >= a.rows * a.heads * a.half_) return;
    const uint i = id % a.half_, head = (id / a.half_) % a.heads, row = id / (a.half_ * a.heads);
    const uint p = uint(a.positions.v[row]);
    const float c = a.cosines.v[p * a.half_ + i], s = a.sines.v[p * a.half_ + i];
    const uint base = (row * a.heads + head) * a.headStride;
    const uint j = a.pairs != 0 ? base + 2 * i : base + i;
    const uint k = a.pairs != 0 ? j + 1 : j + a.half_;
    const float u = a.x.v[j], w = a.x.v[k];
    a.x.v[j] = u * c - w * s;
    a.x.v[k] = w * c + u * s;
}
