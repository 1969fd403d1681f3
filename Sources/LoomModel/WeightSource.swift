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
    /// The matrix `name`, which must be [rows, cols]. A source may copy it into `arena` (the
    /// arena of its placement) when a faster layout pays; the matrix then says so
    /// (`isArenaResident`) and the copy is charged there instead of the mapped bytes.
    /// `activations` is how finely a quantized matrix rounds its input (float matrices keep f32).
    func matrix(_ name: String, rows: Int, cols: Int, arena: MemoryArena?, activations: ActivationRounding) throws -> any WeightMatrix
    /// The vector `name` of `count` elements, as f32 in `arena`.
    func vector(_ name: String, count: Int, arena: MemoryArena) throws -> ArenaBuffer<Float>
}

/// Weights from safetensors files (one file or a sharded directory).
public struct SafeTensorsWeightSource: WeightSource {
    public let archive: SafeTensorsArchive

    public init(archive: SafeTensorsArchive) { self.archive = archive }

    public var sourceName: String { archive.directory }

    public func contains(_ name: String) -> Bool { archive.contains(name) }

    public func matrixBytes(_ name: String) throws -> Int { try archive.tensor(name).bytes.count }

    public func matrix(_ name: String, rows: Int, cols: Int, arena: MemoryArena?,
                       activations: ActivationRounding) throws -> any WeightMatrix {
        let view = try archive.tensor(name)
        guard view.shape == [rows, cols] else {
            throw ModelError.shapeMismatch(source: sourceName, tensor: name, expected: [rows, cols], actual: view.shape)
        }
        let base = view.bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
        let type: QuantType
        switch view.dtype {
        case .f32: type = .f32
        case .f16: type = .f16
        case .bf16: type = .bf16
        default: throw ModelError.unsupportedDType(source: sourceName, tensor: name, dtype: view.dtype.rawValue)
        }
        return try FloatMatrix(type: type, data: base, byteCount: view.bytes.count, rows: rows, cols: cols, owner: view.owner)
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
