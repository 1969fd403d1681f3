#version 450
// gate[i] = act(gate[i]) · up[i], over count elements: act is SiLU, or with GELU_TANH defined the
// tanh approximation of GELU (Gemma), or with CLAMPED gpt-oss's clamped SwiGLU, g·σ(α·g)·(u + 1)
// with g = min(gate, limit) and u = up clamped to ±limit, in the CPU's order of operations.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Args {
    MutableFloats gate; // [count]
    Floats up;          // [count]
    uint count;
#if defined(CLAMPED)
    float limit;
    float alpha;
#endif
} a;

void main() {
    const uint i = flatWorkgroup() * 256 + gl_LocalInvocationID.x;
    if (i >= a.count) return;
    const float g = a.gate.v[i];
#if defined(CLAMPED)
    const float scaled = a.alpha * min(g, a.limit);
    const float shifted = (clamp(a.up.v[i], -a.limit, a.limit) + 1.0) * (1.0 / a.alpha);
    a.gate.v[i] = scaled / (1.0 + exp(-scaled)) * shifted;
#elif defined(GELU_TANH)
    const float inner = 0.7978845608028654 * (g + 0.044715 * g * g * g);
    a.gate.v[i] = 0.5 * g * (1.0 + tanh(inner)) * a.up.v[i];
#else
    a.gate.v[i] = g / (1.0 + exp(-g)) * a.up.v[i];
#endif
}
