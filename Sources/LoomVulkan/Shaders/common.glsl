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
layout(buffer_reference, std430, buffer_reference_align = 4) buffer MutableInts { int v[]; };

// A 16-bit word read as an f16 (a macro: 16-bit values may live only in buffers).
#define HALF_TO_FLOAT(word) unpackHalf2x16(uint(word)).x

// The workgroup index over a 2-D grid: dispatches wider than maxComputeWorkGroupCount[0]
// (a 151k-row LM head) spill into y.
uint flatWorkgroup() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }
