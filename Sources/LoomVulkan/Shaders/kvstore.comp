#version 450
// Stores each row's keys and values as f16 at its slot of a paged cache layer, whose planes are
// [pages, kvHeads, pageTokens, headDim]. One thread per (row, head, element).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    Floats keys;            // [rows, kvHeads, headDim]
    Floats values;          // [rows, kvHeads, headDim]
    MutableWords keyPlane;  // [pages, kvHeads, pageTokens, headDim] f16
    MutableWords valuePlane;
    Ints slots;             // [rows]: page · pageTokens + offset
    uint rows;
    uint kvHeads;
    uint headDim;
    uint pageTokens;
} a;

void main() {
    const uint id = flatWorkgroup() * 256 + gl_LocalInvocationID.x;
    if (id >= a.rows * a.kvHeads * a.headDim) return;
    const uint e = id % a.headDim, head = (id / a.headDim) % a.kvHeads, row = id / (a.headDim * a.kvHeads);
    const uint slot = uint(a.slots.v[row]);
    const uint page = slot / a.pageTokens, offset = slot % a.pageTokens;
    const uint at = ((page * a.kvHeads + head) * a.pageTokens + offset) * a.headDim + e;
    a.keyPlane.v[at] = uint16_t(packHalf2x16(vec2(a.keys.v[id], 0.0)));
    a.valuePlane.v[at] = uint16_t(packHalf2x16(vec2(a.values.v[id], 0.0)));
}
