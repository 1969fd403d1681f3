import LoomCore

/// A weight matrix used as `y = W·x`, stored row-major as [rows, cols]: `rows` output features,
/// each a contiguous run of `cols` input weights (the layout of both HF linear weights and GGUF).
///
/// Every storage format (f32, f16, bf16, GGUF block quants) implements this, so the model code
/// never knows how its weights are stored. Kernels read the weights where they lie (often a
/// memory map) and never allocate: any working memory comes from the caller's `scratch`.
public protocol WeightMatrix: Sendable {
    /// Output features.
    var rows: Int { get }
    /// Input features.
    var cols: Int { get }
    /// Bytes the weights occupy.
    var byteCount: Int { get }
    /// A short name of the storage format, such as `bf16` or `q4_0`.
    var formatName: String { get }

    /// Bytes of scratch `multiply` needs for `batch` input vectors (quantized activations).
    func scratchBytes(batch: Int) -> Int

    /// `y[b, r] = Σ_c W[r, c] · x[b, c]` for `b < batch`.
    /// - Parameters:
    ///   - x: [batch, cols]
    ///   - y: [batch, rows]
    ///   - scratch: at least `scratchBytes(batch:)` bytes, 64-byte aligned.
    func multiply(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>,
                  scratch: UnsafeMutableRawPointer?, pool: ThreadPool)

    /// Writes row `index` as f32 into `out` ([cols]); used for embedding lookup.
    func row(_ index: Int, into out: UnsafeMutablePointer<Float>)

    /// True when the weights were copied into an arena (repacked at load), which has already
    /// counted them; false when they are read where they lie, such as a memory map.
    var isArenaResident: Bool { get }

    /// The weights in the stored layout (row-major [rows, cols] in `type`'s GGUF blocks), where
    /// the matrix holds them so and not repacked: what a device copies as it is. Nil otherwise.
    var storedBlocks: (type: QuantType, bytes: UnsafeRawBufferPointer)? { get }

    /// Writes the weights in the stored layout to `out` (`byteCount` bytes): `storedBlocks`, or
    /// the rows rebuilt from a repacked layout. Returns their type, or nil (nothing written) for
    /// matrices with no stored layout.
    func writeStoredBlocks(into out: UnsafeMutableRawPointer) -> QuantType?
}

extension WeightMatrix {
    public var isArenaResident: Bool { false }
    public var storedBlocks: (type: QuantType, bytes: UnsafeRawBufferPointer)? { nil }

    public func writeStoredBlocks(into out: UnsafeMutableRawPointer) -> QuantType? {
        guard let stored = storedBlocks else { return nil }
        out.copyMemory(from: stored.bytes.baseAddress!, byteCount: stored.bytes.count)
        return stored.type
    }
}
