import LoomCore
#if arch(x86_64)
import LoomKernelsAVX2
import LoomKernelsAVX512
#endif

/// An f32, f16 or bf16 weight matrix, used where it lies. Activations stay f32; weights are
/// widened to f32 in registers and accumulated with FMA.
public final class FloatMatrix: WeightMatrix, @unchecked Sendable {
    public let type: QuantType
    public let rows: Int
    public let cols: Int
    public let path: KernelPath
    let data: UnsafeRawPointer  // [rows, cols]
    private let owner: AnyObject?
    private let rowsKernel: RowsKernel

    /// y[start..<end] = W[start..<end, :]·x.
    typealias RowsKernel = (_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int,
                            _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) -> Void

    public var byteCount: Int { rows * cols * type.blockBytes }
    public var formatName: String { type.name }

    public init(type: QuantType, data: UnsafeRawPointer, byteCount: Int, rows: Int, cols: Int,
                owner: AnyObject?, path: KernelPath = .best) throws {
        precondition(type.blockSize == 1, "use QuantizedMatrix for \(type.name)")
        let needed = rows * cols * type.blockBytes
        guard byteCount >= needed else { throw KernelError.dataTooSmall(format: type.name, needed: needed, available: byteCount) }
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.owner = owner
        self.path = path.isSupported ? path : .portable
        self.rowsKernel = Self.kernel(type, self.path)
    }

    public func scratchBytes(batch: Int) -> Int { 0 }

    public func multiply(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, pool: ThreadPool) {
        let (data, rows, cols, kernel) = (data, rows, cols, rowsKernel)
        if batch == 1 {
            pool.parallelFor(rows, grain: 16) { range in kernel(data, cols, range.lowerBound, range.upperBound, x, y) }
            return
        }
        let tile = max(4, (16 * 1024) / max(1, cols * type.blockBytes)) & ~3
        let tiles = (rows + tile - 1) / tile
        pool.run(chunks: tiles) { t in
            let start = t * tile, end = min(rows, start + tile)
            for b in 0..<batch { kernel(data, cols, start, end, x + b * cols, y + b * rows) }
        }
    }

    public func row(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        Dequantize.run(type, data + index * cols * type.blockBytes, count: cols, into: out)
    }

    static func kernel(_ type: QuantType, _ path: KernelPath) -> RowsKernel {
        #if arch(x86_64)
        switch (path, type) {
        case (.avx512, .f16): return LoomKernelsAVX512.f16Rows
        case (.avx512, .bf16): return LoomKernelsAVX512.bf16Rows
        case (.avx512, .f32): return LoomKernelsAVX512.f32Rows
        case (.avx2, .f16): return LoomKernelsAVX2.f16Rows
        case (.avx2, .bf16): return LoomKernelsAVX2.bf16Rows
        case (.avx2, .f32): return LoomKernelsAVX2.f32Rows
        default: break
        }
        #endif
        return { w, cols, start, end, x, y in
            let elementBytes = type.blockBytes
            for r in start..<end {
                let row = w + r * cols * elementBytes
                var sum: Float = 0
                for c in 0..<cols {
                    let weight: Float
                    switch type {
                    case .f16: weight = loadF16(row, 2 * c)
                    case .bf16: weight = bf16ToFloat(row.loadUnaligned(fromByteOffset: 2 * c, as: UInt16.self))
                    default: weight = row.loadUnaligned(fromByteOffset: 4 * c, as: Float.self)
                    }
                    sum += weight * x[c]
                }
                y[r] = sum
            }
        }
    }
}
