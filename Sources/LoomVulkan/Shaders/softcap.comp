#version 450
// x[i] = cap · tanh(x[i] / cap), over count elements (Gemma 2's final logits).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    MutableFloats x;    // [count]
    uint count;
    float cap;
} a;

void main() {
    const uint i = flatWorkgroup() * 256 + gl_LocalInvocationID.x;
    if (i >= a.count) return;
    a.x.v[i] = a.cap * tanh(a.x.v[i] / a.cap);
}
