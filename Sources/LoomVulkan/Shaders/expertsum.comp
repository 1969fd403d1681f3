#version 450
// sum[r, d] = Σ_j weight[r·k + j] · expertOut[slot[r·k + j], d]: each row's k chosen experts'
// outputs, weighted by the router, in the order given (the CPU adds them in expert order).
// One thread per (row, element), so no two threads add into one place.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    Floats expertOut;   // [slots, width]
    Ints slots;         // [rows, k]: the expertOut row of each choice
    Floats weights;     // [rows, k]
    MutableFloats sum;  // [rows, width]
    uint rows;
    uint width;
    uint k;
} a;

void main() {
    const uint i = flatWorkgroup() * 256 + gl_LocalInvocationID.x;
    if (i >= a.rows * a.width) return;
    const uint row = i / a.width, d = i % a.width;
    float total = 0.0;
    for (uint j = 0; j < a.k; j++) {
        total += a.weights.v[row * a.k + j] * a.expertOut.v[uint(a.slots.v[row * a.k + j]) * a.width + d];
    }
    a.sum.v[i] = total;
}
