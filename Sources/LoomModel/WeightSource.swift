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
}

extension WeightSource {
    /// The whole matrix `name`, which must be [rows, cols].
    public func matrix(_ name: String, rows: Int, cols: Int, arena: MemoryArena?,
                       activations: ActivationRounding) throws -> any WeightMatrix {
        try matrix(name, rows: 0..<rows, of: rows, cols: cols, arena: arena, activations: activations)
    }

    /// The matrix of an inventory entry: stored as itself, or rows of a fused tensor.
    public func matrix(for spec: TensorSpec, arena: MemoryArena?, activations: ActivationRounding) throws -> any WeightMatrix {
        guard case let .matrix(rows, cols) = spec.kind else { preconditionFailure("\(spec.name) is not a matrix") }
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

    public func contains(_ name: String) -> Bool { archive.contains(name) }

    public func matrixBytes(_ name: String) throws -> Int { try archive.tensor(name).bytes.count }

    public func matrix(_ name: String, rows part: Range<Int>, of storedRows: Int, cols: Int, arena: MemoryArena?,
                       activations: ActivationRounding) throws -> any WeightMatrix {
        let view = try archive.tensor(name)
        guard view.shape == [storedRows, cols] else {
            throw ModelError.shapeMismatch(source: sourceName, tensor: name, expected: [storedRows, cols], actual: view.shape)
        }
        let rows = part.count
        let bytes = rowSlice(view.bytes, rows: part, of: storedRows)
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
        let type: QuantType
        switch view.dtype {
        case .f32: type = .f32
        case .f16: type = .f16
        case .bf16: type = .bf16
        default: throw ModelError.unsupportedDType(source: sourceName, tensor: name, dtype: view.dtype.rawValue)
        }
        return try FloatMatrix(type: type, data: base, byteCount: bytes.count, rows: rows, cols: cols, owner: view.owner)
    }

    public func vector(_ name: String, count: Int, arena: MemoryArena) throws -> ArenaBuffer<Float> {
        let view = try archive.tensor(name)
        guard view.shape == [count] else {
            throw ModelError.shapeMismatch(source: sourceName, tensor: name, expected: [count], actual: view.shape)
        }
        let buffer = try arena.allocate(Float.self, count: count, label: "weights")
        let bytes = view.bytes
        for i in 0..<count {
            switch view.dtype {
            case .f32: buffer.pointer[i] = bytes.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
            case .f16: buffer.pointer[i] = f16ToFloat(bytes.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
            case .bf16: buffer.pointer[i] = bf16ToFloat(bytes.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
            default: throw ModelError.unsupportedDType(source: sourceName, tensor: name, dtype: view.dtype.rawValue)
            }
        }
        return buffer
    }
}
