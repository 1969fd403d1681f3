#version 450
// y[i] += x[i], over count elements (the residual adds).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    MutableFloats y;    // [count]
    Floats x;           // [count]
    uint count;
} a;

void main() {
    const uint i = flatWorkgroup() * 256 + gl_LocalInvocationID.x;
    if (i >= a.count) return;
    a.y.v[i] += a.x.v[i];
}
