// Shared declarations: every kernel reads and writes through buffer device addresses passed in
// its push constants (no descriptor sets), and reads weights as 16-bit words, so GGUF blocks
// of 18 or 34 bytes are read in place, and only 16-bit storage is required of the device.
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_shader_16bit_storage : require

layout(buffer_reference, std430, buffer_reference_align = 2) readonly buffer Words { uint16_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer Floats { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer MutableFloats { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 2) buffer MutableWords { uint16_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer Ints { int v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer Lines { uvec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer MutableInts { int v[]; };

// A 16-bit word read as an f16 (a macro: 16-bit values may live only in buffers).
#define HALF_TO_FLOAT(word) unpackHalf2x16(uint(word)).x

// The workgroup index over a 2-D grid: dispatches wider than maxComputeWorkGroupCount[0]
// (a 151k-row LM head) spill into y.
uint flatWorkgroup() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }

// ExLlamaV2's quantized caches: a 32-point Hadamard transform of each group of 32, in the
// CPU's order of operations (LoomKernels.hadamard32), so both rotate to the same floats.
void hadamard32(inout float v[32]) {
    for (uint span = 1; span < 32; span *= 2) {
        for (uint block = 0; block < 32; block += 2 * span) {
            for (uint i = block; i < block + span; i++) {
                const float x = v[i], y = v[i + span];
                v[i] = x + y;
                v[i + span] = x - y;
            }
        }
    }
    for (uint i = 0; i < 32; i++) v[i] *= 0.17677669529663687;
}

// Words in one cached row of head_dim values: f16 values (bits 16), or groups of 32 holding an
// f16 scale and int8 codes (bits 8) or nibbles offset by 8 (bits 4).
uint cacheRowWords(uint bits, uint headDim) { return bits == 16 ? headDim : headDim / 32 * (bits == 8 ? 17 : 9); }

// Element d of the cached row that starts at word `base` (still rotated when quantized).
float cacheValue(Words plane, uint base, uint bits, uint d) {
    if (bits == 16) return HALF_TO_FLOAT(plane.v[base + d]);
    const uint g = d / 32, i = d % 32;
    const uint group = base + g * (bits == 8 ? 17 : 9);
    const float scale = HALF_TO_FLOAT(plane.v[group]);
    if (bits == 8) {
        const int word = int(uint(plane.v[group + 1 + i / 2]));
        return scale * float((word << (24 - 8 * (i & 1))) >> 24);
    }
    const uint b = i % 16, byte_ = (uint(plane.v[group + 1 + b / 2]) >> (8 * (b & 1))) & 255u;
    return scale * float(int(i < 16 ? byte_ & 15u : byte_ >> 4) - 8);
}
