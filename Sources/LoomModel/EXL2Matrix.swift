import LoomCore
import LoomFormats
import LoomKernels

/// EXL2 layers as Loom matrices: each run of groups whose widths one ggml format holds exactly
/// becomes a segment in that format (8 and 6 bits: q8_0; 5: q5_0; 4, 3, 2: q4_0), the integers
/// and fp16 scales copied, never rounded again; act order becomes a gather of the input
/// (`SegmentedMatrix`). The segments run on the q8_0/q5_0/q4_0 kernels, repacked at load like
/// any GGUF matrix of those formats.
///
/// Why not kernels of their own: the ggml formats' kernels are the fast ones here, a 32-row
/// group with one scale per column is exactly a ggml block of a row, and the price is the
/// rounding up of widths (a 3-bit group takes q4_0's 4.5 bits, a 6-bit one q8_0's 8.5).
enum EXL2Matrix {
    /// Runs of consecutive groups stored in one format: (format, first quantized row, rows, groups).
    static func segments(_ groups: [EXL2Tensor.Group]) -> [(type: QuantType, firstRow: Int, rows: Int, groups: Range<Int>)] {
        var out: [(type: QuantType, firstRow: Int, rows: Int, groups: Range<Int>)] = []
        for (g, group) in groups.enumerated() {
            let type = SymmetricBlocks.format(holding: group.bits)
            if let last = out.last, last.type == type {
                out[out.count - 1] = (type, last.firstRow, last.rows + group.rows, last.groups.lowerBound..<(g + 1))
            } else {
                out.append((type, group.firstRow, group.rows, g..<(g + 1)))
            }
        }
        return out
    }

    /// Bytes the repacked matrix takes for `columns` output features: what the loader charges
    /// the arena (the gather, 4 bytes per input row, lives with the matrix object).
    static func byteCount(_ groups: [EXL2Tensor.Group], columns: Int) -> Int {
        segments(groups).reduce(0) { $0 + columns * $1.type.rowBytes($1.rows) }
    }

    /// What the repacked matrix of `columns` output features over `groups` will take (bytes and
    /// scratch), without reading or repacking a weight: for the planner, which sizes every
    /// matrix before the loader builds any.
    static func sizing(_ groups: [EXL2Tensor.Group], columns: Int) -> SizingMatrix {
        let parts = segments(groups)
        let inputRows = parts.reduce(0) { $0 + $1.rows }
        return SizingMatrix(rows: columns, cols: inputRows, byteCount: byteCount(groups, columns: columns),
                            formatName: "exl2(" + parts.map(\.type.name).joined(separator: "+") + ")") { batch in
            SegmentedMatrix.scratchBytes(batch: batch, rows: columns, cols: inputRows,
                                         segmentScratch: parts.map { QuantizedMatrix.scratchBytes(batch: batch, cols: $0.rows) }.max() ?? 0)
        }
    }

    /// A matrix's sizes without its weights; it cannot be multiplied.
    struct SizingMatrix: WeightMatrix {
        let rows: Int
        let cols: Int
        let byteCount: Int
        let formatName: String
        let scratch: @Sendable (Int) -> Int
        var isArenaResident: Bool { true }
        func scratchBytes(batch: Int) -> Int { scratch(batch) }
        func multiply(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, scratch: UnsafeMutableRawPointer?, pool: ThreadPool) {
            preconditionFailure("\(formatName) [\(rows), \(cols)]: a sizing matrix, loaded without an arena, has no weights")
        }
        func row(_ index: Int, into out: UnsafeMutablePointer<Float>) {
            preconditionFailure("\(formatName) [\(rows), \(cols)]: a sizing matrix, loaded without an arena, has no weights")
        }
    }

    /// Output features `part` of `tensor` as a segmented matrix; the segments' bytes go to
    /// `arena` (label `weights`), or to buffers of their own without one.
    static func matrix(_ tensor: EXL2Tensor, columns part: Range<Int>, arena: MemoryArena?,
                       activations: ActivationRounding) throws -> SegmentedMatrix {
        var landing = [Int32](repeating: 0, count: tensor.rows)  // [quantized row] its input row
        for (input, quantized) in tensor.inversePermutation.enumerated() { landing[quantized] = Int32(input) }
        var matrices: [any WeightMatrix] = []
        var gather: [Int32] = []
        var values = [Int32](repeating: 0, count: 32)  // [32] one block's integers
        for segment in segments(tensor.groups) {
            let type = segment.type, rowBytes = type.rowBytes(segment.rows)
            let bytes = part.count * rowBytes
            let staging = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)  // [part rows][rowBytes]
            defer { staging.deallocate() }
            for (r, column) in part.enumerated() {
                var block = 0
                for g in segment.groups {
                    let group = tensor.groups[g]
                    let scale = tensor.scale(group: g, column: column)
                    let zero = 1 << (group.bits - 1)
                    for first in stride(from: group.firstRow, to: group.firstRow + group.rows, by: 32) {
                        for j in 0..<32 { values[j] = Int32(tensor.code(group, row: first + j, column: column) - zero) }
                        values.withUnsafeBufferPointer {
                            SymmetricBlocks.write(type, scale: scale, values: $0.baseAddress!, into: staging + r * rowBytes + block * type.blockBytes)
                        }
                        block += 1
                    }
                }
            }
            matrices.append(try resident(type, staging, bytes: bytes, rows: part.count, cols: segment.rows, arena: arena, activations: activations))
            gather += landing[segment.firstRow..<(segment.firstRow + segment.rows)]
        }
        return SegmentedMatrix(rows: part.count, segments: matrices, gather: gather)
    }

    /// A quantized matrix of the staged bytes that lives in `arena` (repacked there when its
    /// kernels interleave rows, else copied), or in a buffer of its own without an arena.
    private static func resident(_ type: QuantType, _ staged: UnsafeRawPointer, bytes: Int, rows: Int, cols: Int,
                                 arena: MemoryArena?, activations: ActivationRounding) throws -> QuantizedMatrix {
        if let arena {
            let interleaved = try QuantizedMatrix(type: type, data: staged, byteCount: bytes, rows: rows, cols: cols, owner: nil,
                                                  repackingInto: arena, activations: activations)
            if interleaved.isArenaResident { return interleaved }
            let buffer = try arena.allocate(UInt8.self, count: bytes, label: "weights")
            UnsafeMutableRawPointer(buffer.pointer).copyMemory(from: staged, byteCount: bytes)
            return try QuantizedMatrix(type: type, data: UnsafeRawPointer(buffer.pointer), byteCount: bytes, rows: rows, cols: cols,
                                       owner: buffer, activations: activations, arenaResident: true)
        }
        let own = OwnedBytes(copying: staged, count: bytes)
        return try QuantizedMatrix(type: type, data: UnsafeRawPointer(own.pointer), byteCount: bytes, rows: rows, cols: cols,
                                   owner: own, activations: activations)
    }

    /// Bytes on the heap, freed with their last reference.
    final class OwnedBytes: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        init(copying source: UnsafeRawPointer, count: Int) {
            pointer = .allocate(byteCount: max(1, count), alignment: 64)
            pointer.copyMemory(from: source, byteCount: count)
        }
        deinit { pointer.deallocate() }
    }
}
