#version 450
// destination[i] = source[i] over count 16-byte words: the bandwidth probe (bench-memory --device).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    Lines source;       // [count] uvec4
    Lines destination;  // [count] uvec4
    uint count;
} a;

void main() {
    const uint i = flatWorkgroup() * 256 + gl_LocalInvocationID.x;
    if (i >= a.count) return;
    a.destination.v[i] = a.source.v[i];
}
