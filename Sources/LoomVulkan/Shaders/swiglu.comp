#version 450
// gate[i] = silu(gate[i]) · up[i], over count elements.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    MutableFloats gate; // [count]
    Floats up;          // [count]
    uint count;
} a;

void main() {
    const uint i = flatWorkgroup() * 256 + gl_LocalInvocationID.x;
    if (i >= a.count) return;
    const float g = a.gate.v[i];
    a.gate.v[i] = g / (1.0 + exp(-g)) * a.up.v[i];
}
