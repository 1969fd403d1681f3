#version 450
// y[r, i] += bias[i] for every row (the projections' biases).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    MutableFloats y;    // [rows, width]
    Floats bias;        // [width]
    uint rows;
    uint width;
} a;

void main() {
    const uint i = flatWorkgroup() * 256 + gl_LocalInvocationID.x;
    if (i >= a.rows * a.width) return;
    a.y.v[i] += a.bias.v[i % a.width];
}
