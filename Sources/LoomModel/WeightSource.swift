import LoomCore
import LoomFormats
import LoomKernels

/// The tensors of one model file set, named the way the model asks for them (HF names).
/// A source hands out matrices that read the file in place, and small vectors (norms, biases)
/// copied to f32 in the arena that will hold them.
public protocol WeightSource: Sendable {
    /// A file or directory name for messages.
    var sourceName: String { get }
    func contains(_ name: String) -> Bool
    /// Bytes the stored matrix `name` occupies (what the loader will charge for it).
    func matrixBytes(_ name: String) throws -> Int
    /// Rows `rows` of the stored matrix `name`, which must be [storedRows, cols], as a matrix of
    /// their own (all of them, or one part of a fused tensor). A source may copy it into `arena`
    /// (the arena of its placement) when a faster layout pays; the matrix then says so
    /// (`isArenaResident`) and the copy is charged there instead of the mapped bytes.
    /// `activations` is how finely a quantized matrix rounds its input (float matrices keep f32).
    func matrix(_ name: String, rows: Range<Int>, of storedRows: Int, cols: Int, arena: MemoryArena?,
                activations: ActivationRounding) throws -> any WeightMatrix
    /// The vector `name` of `count` elements, as f32 in `arena`.
    func vector(_ name: String, count: Int, arena: MemoryArena) throws -> ArenaBuffer<Float>
    /// The [rows, cols] matrix `slice` describes, transposed into `arena` in the stored type.
    /// Without an arena (sizing only) the matrix reads `rows · cols` stored elements in place,
    /// which are not its values. Sources whose files never store experts so throw.
    func matrix(_ slice: TensorSpec.ExpertSlice, rows: Int, cols: Int, arena: MemoryArena?) throws -> any WeightMatrix
    /// The vector of `count` elements `slice` describes, as f32 in `arena`.
    func vector(_ slice: TensorSpec.ExpertSlice, count: Int, arena: MemoryArena) throws -> ArenaBuffer<Float>
}

extension WeightSource {
    /// The whole matrix `name`, which must be [rows, cols].
    public func matrix(_ name: String, rows: Int, cols: Int, arena: MemoryArena?,
                       activations: ActivationRounding) throws -> any WeightMatrix {
        try matrix(name, rows: 0..<rows, of: rows, cols: cols, arena: arena, activations: activations)
    }

    public func matrix(_ slice: TensorSpec.ExpertSlice, rows: Int, cols: Int, arena: MemoryArena?) throws -> any WeightMatrix {
        throw SafeTensorsError.missingTensor(name: slice.stored, searched: sourceName)
    }

    public func vector(_ slice: TensorSpec.ExpertSlice, count: Int, arena: MemoryArena) throws -> ArenaBuffer<Float> {
        throw SafeTensorsError.missingTensor(name: slice.stored, searched: sourceName)
    }

    /// The vector of an inventory entry: stored as itself, or part of an all-experts tensor.
    public func vector(for spec: TensorSpec, arena: MemoryArena) throws -> ArenaBuffer<Float> {
        guard case let .vector(count) = spec.kind else { preconditionFailure("\(spec.name) is not a vector") }
        if let slice = spec.expertSlice, !contains(spec.name) { return try vector(slice, count: count, arena: arena) }
        return try vector(spec.name, count: count, arena: arena)
    }

    /// The matrix of an inventory entry: stored as itself, rows of a fused tensor, or part of an
    /// all-experts tensor.
    public func matrix(for spec: TensorSpec, arena: MemoryArena?, activations: ActivationRounding) throws -> any WeightMatrix {
        guard case let .matrix(rows, cols) = spec.kind else { preconditionFailure("\(spec.name) is not a matrix") }
        if let slice = spec.expertSlice, !contains(spec.name) { return try matrix(slice, rows: rows, cols: cols, arena: arena) }
        guard let part = spec.fused else {
            return try matrix(spec.name, rows: rows, cols: cols, arena: arena, activations: activations)
        }
        return try matrix(part.stored, rows: part.offset..<(part.offset + rows), of: part.storedRows, cols: cols,
                          arena: arena, activations: activations)
    }
}

/// Rows `rows` of a stored [storedRows, cols] matrix's bytes, after checking the stored shape.
func rowSlice(_ bytes: UnsafeRawBufferPointer, rows: Range<Int>, of storedRows: Int) -> UnsafeRawBufferPointer {
    let rowBytes = bytes.count / max(1, storedRows)
    return UnsafeRawBufferPointer(rebasing: bytes[(rows.lowerBound * rowBytes)..<(rows.upperBound * rowBytes)])
}

/// Weights from safetensors files (one file or a sharded directory).
public struct SafeTensorsWeightSource: WeightSource {
    public let archive: SafeTensorsArchive

    public init(archive: SafeTensorsArchive) { self.archive = archive }

    public var sourceName: String { archive.directory }

    public func contains(_ name: String) -> Bool { archive.contains(name) || exl2Layer(name) != nil }

    public func matrixBytes(_ name: String) throws -> Int {
        if let layer = exl2Layer(name) {
            let (groups, paddedColumns) = try exl2Groups(layer)
            // Output features: the bias's when there is one, else the padded width (real layers are multiples of 32).
            let columns = (try? archive.tensor(layer + ".bias"))?.elementCount ?? paddedColumns
            return EXL2Matrix.byteCount(groups, columns: columns)
        }
        return try archive.tensor(name).bytes.count
    }

    /// The layer stem of weight `name` when the archive holds it in EXL2 form (`stem.q_weight`
    /// and its companions instead of `stem.weight`).
    func exl2Layer(_ name: String) -> String? {
        guard name.hasSuffix(".weight"), !archive.contains(name) else { return nil }
        let stem = String(name.dropLast(".weight".count))
        return archive.contains(stem + ".q_weight") ? stem : nil
    }

    /// An EXL2 layer's groups, read from q_groups alone, and q_weight's (padded) width.
    private func exl2Groups(_ layer: String) throws -> (groups: [EXL2Tensor.Group], paddedColumns: Int) {
        let qWeight = try archive.tensor(layer + ".q_weight")
        let groups = try EXL2Tensor.groups(name: layer, qGroups: try archive.tensor(layer + ".q_groups"), packedRows: qWeight.shape.first ?? 0)
        return (groups, qWeight.shape.last ?? 0)
    }

    public func matrix(_ name: String, rows part: Range<Int>, of storedRows: Int, cols: Int, arena: MemoryArena?,
                       activations: ActivationRounding) throws -> any WeightMatrix {
        if let layer = exl2Layer(name) {
            guard arena != nil else {
                // Sizing only (the planner): the groups give every size, no weight is read.
                return EXL2Matrix.sizing(try exl2Groups(layer).groups, columns: part.count)
            }
            let tensor = try EXL2Tensor(name: layer, columns: storedRows, tensor: archive.tensor)
            guard tensor.rows == cols else {
                throw ModelError.shapeMismatch(source: sourceName, tensor: layer + ".q_weight", expected: [storedRows, cols],
                                               actual: [storedRows, tensor.rows])
            }
            return try EXL2Matrix.matrix(tensor, columns: part, arena: arena, activations: activations)
        }
        let view = try archive.tensor(name)
        guard view.shape == [storedRows, cols] else {
            throw ModelError.shapeMismatch(source: sourceName, tensor: name, expected: [storedRows, cols], actual: view.shape)
        }
        let rows = part.count
        let bytes = rowSlice(view.bytes, rows: part, of: storedRows)
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
        let type = try floatType(view)
        return try FloatMatrix(type: type, data: base, byteCount: bytes.count, rows: rows, cols: cols, owner: view.owner)
    }

    public func vector(_ name: String, count: Int, arena: MemoryArena) throws -> ArenaBuffer<Float> {
        let view = try archive.tensor(name)
        guard view.shape == [count] else {
            throw ModelError.shapeMismatch(source: sourceName, tensor: name, expected: [count], actual: view.shape)
        }
        return try floats(view, elements: (0..<count).map { $0 }, arena: arena)
    }

    public func vector(_ slice: TensorSpec.ExpertSlice, count: Int, arena: MemoryArena) throws -> ArenaBuffer<Float> {
        let view = try expertTensor(slice, shape: [slice.experts, slice.storedColumns], taking: count)
        return try floats(view, elements: (0..<count).map { slice.expert * slice.storedColumns + slice.first + $0 * slice.stride },
                          arena: arena)
    }

    public func matrix(_ slice: TensorSpec.ExpertSlice, rows: Int, cols: Int, arena: MemoryArena?) throws -> any WeightMatrix {
        if !archive.contains(slice.stored), archive.contains(slice.stored + "_blocks") {
            return try mxfp4Matrix(slice, rows: rows, cols: cols, arena: arena)
        }
        let view = try expertTensor(slice, shape: [slice.experts, cols, slice.storedColumns], taking: rows)
        let type = try floatType(view)
        let size = type.blockBytes
        let expert = view.bytes.baseAddress! + slice.expert * cols * slice.storedColumns * size
        guard let arena else {
            return try FloatMatrix(type: type, data: expert, byteCount: rows * cols * size, rows: rows, cols: cols, owner: view.owner)
        }
        let buffer = try arena.allocate(UInt8.self, count: rows * cols * size, label: "weights")
        // [rows, cols] out[r][c] = stored[c][first + r · stride]
        let out = UnsafeMutableRawPointer(buffer.pointer)
        for c in 0..<cols {
            let column = expert + c * slice.storedColumns * size
            for r in 0..<rows {
                (out + (r * cols + c) * size).copyMemory(from: column + (slice.first + r * slice.stride) * size, byteCount: size)
            }
        }
        releaseExpert(slice, of: view)
        return try FloatMatrix(type: type, data: out, byteCount: rows * cols * size, rows: rows, cols: cols, owner: buffer,
                               arenaResident: true)
    }

    /// Drops expert `slice.expert`'s part of `view` from the resident set once its last matrix
    /// (the part with the highest `first`) is copied into the arena: the file is not read there again.
    private func releaseExpert(_ slice: TensorSpec.ExpertSlice, of view: TensorView) {
        guard slice.first == slice.stride - 1, let file = view.owner as? MappedFile else { return }
        let each = view.bytes.count / slice.experts
        file.dropResidentPages(UnsafeRawBufferPointer(rebasing: view.bytes[(slice.expert * each)..<((slice.expert + 1) * each)]))
    }

    /// Expert matrix `slice` of a checkpoint that stores its experts as MXFP4, as openai's
    /// gpt-oss checkpoints do: `<stored>_blocks` [experts, storedColumns, cols / 32, 16] of
    /// nibbles, byte k holding elements 2k (low) and 2k + 1 (high) of a block, and
    /// `<stored>_scales` [experts, storedColumns, cols / 32] of E8M0 exponents. Unlike the
    /// unquantized tensors these are output-major, so the matrix is stored rows `first`,
    /// `first + stride`, … of the expert. They are rewritten into GGML MXFP4 blocks (the
    /// exponent, then elements j low and j + 16 high: the same values) for the MXFP4 kernels,
    /// in `arena`, or through a staging copy when the kernels repack them there anyway.
    private func mxfp4Matrix(_ slice: TensorSpec.ExpertSlice, rows: Int, cols: Int, arena: MemoryArena?) throws -> any WeightMatrix {
        let groups = cols / 32
        let blocks = try archive.tensor(slice.stored + "_blocks"), scales = try archive.tensor(slice.stored + "_scales")
        for (view, shape) in [(blocks, [slice.experts, slice.storedColumns, groups, 16]), (scales, [slice.experts, slice.storedColumns, groups])] {
            guard view.dtype == .u8 else {
                throw ModelError.unsupportedDType(source: sourceName, tensor: view.name, dtype: view.dtype.rawValue)
            }
            guard cols % 32 == 0, view.shape == shape, slice.expert < slice.experts, slice.first + (rows - 1) * slice.stride < slice.storedColumns else {
                throw ModelError.shapeMismatch(source: sourceName, tensor: view.name, expected: shape, actual: view.shape)
            }
        }
        let type = QuantType.mxfp4
        let needed = rows * type.rowBytes(cols)
        guard let arena else {
            // Sizing only: the matrix reads the nibbles in place, which are not its blocks.
            guard blocks.bytes.count >= needed else {
                throw ModelError.unsupportedDType(source: sourceName, tensor: blocks.name, dtype: "MXFP4 of a single expert")
            }
            return try QuantizedMatrix(type: type, data: blocks.bytes.baseAddress!, byteCount: blocks.bytes.count, rows: rows, cols: cols,
                                       owner: blocks.owner)
        }
        let repacks = QuantizedMatrix.repacks(type, rows: rows)
        let resident = repacks ? nil : try arena.allocate(UInt8.self, count: needed, label: "weights")
        let staging = resident.map { UnsafeMutableRawPointer($0.pointer) }
            ?? UnsafeMutableRawPointer.allocate(byteCount: needed, alignment: 64)
        defer { if resident == nil { staging.deallocate() } }
        // [rows, groups] blocks of 17 bytes
        let nibbles = blocks.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let exponents = scales.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let out = staging.assumingMemoryBound(to: UInt8.self)
        for r in 0..<rows {
            let storedRow = slice.expert * slice.storedColumns + slice.first + r * slice.stride
            for g in 0..<groups {
                let unit = storedRow * groups + g, block = out + (r * groups + g) * 17
                let packed = nibbles + unit * 16
                block[0] = exponents[unit]
                func element(_ i: Int) -> UInt8 { i & 1 == 0 ? packed[i >> 1] & 15 : packed[i >> 1] >> 4 }
                for j in 0..<16 { block[1 + j] = element(j) | element(j + 16) << 4 }
            }
        }
        releaseExpert(slice, of: blocks)
        releaseExpert(slice, of: scales)
        return try QuantizedMatrix(type: type, data: staging, byteCount: needed, rows: rows, cols: cols, owner: resident,
                                   repackingInto: repacks ? arena : nil, arenaResident: !repacks)
    }

    /// The all-experts tensor of `slice`, checked to be `shape` with `count` picks in range.
    private func expertTensor(_ slice: TensorSpec.ExpertSlice, shape: [Int], taking count: Int) throws -> TensorView {
        let view = try archive.tensor(slice.stored)
        guard view.shape == shape, slice.expert < slice.experts, slice.first + (count - 1) * slice.stride < slice.storedColumns else {
            throw ModelError.shapeMismatch(source: sourceName, tensor: slice.stored, expected: shape, actual: view.shape)
        }
        return view
    }

    private func floatType(_ view: TensorView) throws -> QuantType {
        switch view.dtype {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: throw ModelError.unsupportedDType(source: sourceName, tensor: view.name, dtype: view.dtype.rawValue)
        }
    }

    /// Elements `elements` of `view` as f32 in `arena`.
    private func floats(_ view: TensorView, elements: [Int], arena: MemoryArena) throws -> ArenaBuffer<Float> {
        let type = try floatType(view)
        let buffer = try arena.allocate(Float.self, count: elements.count, label: "weights")
        let bytes = view.bytes
        for (i, e) in elements.enumerated() {
            switch type {
            case .f32: buffer.pointer[i] = bytes.loadUnaligned(fromByteOffset: e * 4, as: Float.self)
            case .f16: buffer.pointer[i] = f16ToFloat(bytes.loadUnaligned(fromByteOffset: e * 2, as: UInt16.self))
            default: buffer.pointer[i] = bf16ToFloat(bytes.loadUnaligned(fromByteOffset: e * 2, as: UInt16.self))
            }
        }
        return buffer
    }
}
