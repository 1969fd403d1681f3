#version 450
// y[b, :] = x[b, :] / sqrt(mean(x[b, :]²) + eps) · weight. One workgroup per row; y may alias x.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 64) in;

layout(push_constant) uniform Args {
    Floats x;           // [rows, width]
    Floats weight;      // [width]
    MutableFloats y;    // [rows, width]
    uint rows;
    uint width;
    float eps;
} a;

shared float partial[64];

void main() {
    const uint row = flatWorkgroup();
    if (row >= a.rows) return;
    const uint t = gl_LocalInvocationID.x, base = row * a.width;
    float sum = 0.0;
    for (uint i = t; i < a.width; i += 64) { const float v = a.x.v[base + i]; sum += v * v; }
    partial[t] = sum;
    barrier();
    for (uint stride = 32; stride > 0; stride /= 2) {
        if (t < stride) partial[t] += partial[t + stride];
        barrier();
    }
    const float scale = inversesqrt(partial[0] / float(a.width) + a.eps);
    for (uint i = t; i < a.width; i += 64) a.y.v[base + i] = a.x.v[base + i] * scale * a.weight.v[i];
}
