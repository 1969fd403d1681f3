import LoomCore
import LoomKernels
import LoomModel

/// The weights of `inner` with every quantized matrix dequantized to f32 when it is bound: the CPU
/// backend then multiplies exactly the weights a GPU kernel dequantizes, with f32 activations,
/// where the CPU's own quantized kernels round the activations to 8 bits (as llama.cpp's do).
/// The oracle for a device whose kernels keep the activations in f32.
struct DequantizedSource: WeightSource {
    let inner: any WeightSource

    var sourceName: String { inner.sourceName + " (dequantized)" }

    func contains(_ name: String) -> Bool { inner.contains(name) }

    func matrixBytes(_ name: String) throws -> Int {
        preconditionFailure("the loader sizes dequantized matrices from the matrices themselves")
    }

    func matrix(_ name: String, rows: Range<Int>, of storedRows: Int, cols: Int, arena: MemoryArena?,
                activations: ActivationRounding) throws -> any WeightMatrix {
        let stored = try inner.matrix(name, rows: rows, of: storedRows, cols: cols, arena: nil, activations: activations)
        guard let blocks = stored.storedBlocks, blocks.type.blockSize > 1 else { return stored }
        let values = ArenalessFloats(count: rows.count * cols)
        Dequantize.run(blocks.type, blocks.bytes.baseAddress!, count: rows.count * cols, into: values.pointer)
        return try FloatMatrix(type: .f32, data: values.pointer, byteCount: rows.count * cols * 4, rows: rows.count, cols: cols, owner: values)
    }

    func vector(_ name: String, count: Int, arena: MemoryArena) throws -> ArenaBuffer<Float> {
        try inner.vector(name, count: count, arena: arena)
    }
}

/// f32 storage a dequantized matrix owns.
final class ArenalessFloats: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(count: Int) { pointer = .allocate(capacity: count) }
    deinit { pointer.deallocate() }
}
