#version 450
// Stores each row's keys and values at its slot of a quantized paged cache layer, as the CPU's
// QuantizedKVCacheLayer does: each group of 32 rotated by the Hadamard transform, then
// quantized symmetrically by its absolute maximum with an f16 scale, to int8 codes (bits 8) or
// nibbles offset by 8 (bits 4; element i in the low half of byte i % 16 for i < 16). One thread
// per (row, head, group, plane).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 64) in;

layout(push_constant) uniform Args {
    Floats keys;            // [rows, kvHeads, headDim]
    Floats values;          // [rows, kvHeads, headDim]
    MutableWords keyPlane;  // [pages, kvHeads, pageTokens, row] with rows of cacheRowWords(keyBits)
    MutableWords valuePlane;
    Ints slots;             // [rows]: page · pageTokens + offset
    uint rows;
    uint kvHeads;
    uint headDim;
    uint pageTokens;
    uint keyBits;           // 8 or 4
    uint valueBits;
} a;

// Rounds half away from zero, as Swift's rounded() does.
float roundAway(float x) { return sign(x) * floor(abs(x) + 0.5); }

void main() {
    const uint groups = a.headDim / 32;
    const uint id = flatWorkgroup() * 64 + gl_LocalInvocationID.x;
    if (id >= a.rows * a.kvHeads * groups * 2) return;
    const uint plane = id % 2, g = (id / 2) % groups, head = (id / (2 * groups)) % a.kvHeads, row = id / (2 * groups * a.kvHeads);
    const uint bits = plane == 0 ? a.keyBits : a.valueBits;
    float v[32];
    const uint source = (row * a.kvHeads + head) * a.headDim + 32 * g;
    for (uint i = 0; i < 32; i++) v[i] = plane == 0 ? a.keys.v[source + i] : a.values.v[source + i];
    hadamard32(v);
    float absMax = 0.0;
    for (uint i = 0; i < 32; i++) absMax = max(absMax, abs(v[i]));
    const float maxCode = bits == 8 ? 127.0 : 7.0;
    const uint scaleBits = packHalf2x16(vec2(absMax / maxCode, 0.0)) & 0xFFFFu;
    const float scale = unpackHalf2x16(scaleBits).x;
    const float inverse = scale > 0.0 ? 1.0 / scale : 0.0;
    const uint slot = uint(a.slots.v[row]);
    const uint page = slot / a.pageTokens, offset = slot % a.pageTokens;
    const uint at = ((page * a.kvHeads + head) * a.pageTokens + offset) * cacheRowWords(bits, a.headDim) + g * (bits == 8 ? 17 : 9);
    if (plane == 0) a.keyPlane.v[at] = uint16_t(scaleBits); else a.valuePlane.v[at] = uint16_t(scaleBits);
    for (uint w = 0; w < (bits == 8 ? 16u : 8u); w++) {
        uint word;
        if (bits == 8) {
            const int lo = int(clamp(roundAway(v[2 * w] * inverse), -127.0, 127.0));
            const int hi = int(clamp(roundAway(v[2 * w + 1] * inverse), -127.0, 127.0));
            word = (uint(lo) & 255u) | ((uint(hi) & 255u) << 8);
        } else {
            uint bytes[2];
            for (uint k = 0; k < 2; k++) {
                const uint i = 2 * w + k;
                const uint lo = uint(int(clamp(roundAway(v[i] * inverse), -7.0, 7.0)) + 8);
                const uint hi = uint(int(clamp(roundAway(v[i + 16] * inverse), -7.0, 7.0)) + 8);
                bytes[k] = lo | (hi << 4);
            }
            word = bytes[0] | (bytes[1] << 8);
        }
        if (plane == 0) a.keyPlane.v[at + 1 + w] = uint16_t(word); else a.valuePlane.v[at + 1 + w] = uint16_t(word);
    }
}
