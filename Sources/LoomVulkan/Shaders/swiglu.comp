#version 450
// gate[i] = act(gate[i]) · up[i], over count elements: act is SiLU, or with GELU_TANH defined the
// tanh approximation of GELU (Gemma).
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
#if defined(GELU_TANH)
    const float inner = 0.7978845608028654 * (g + 0.044715 * g * g * g);
    a.gate.v[i] = 0.5 * g * (1.0 + tanh(inner)) * a.up.v[i];
#else
    a.gate.v[i] = g / (1.0 + exp(-g)) * a.up.v[i];
#endif
}
