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
    #if arch(x86_64)
    private let tileKernel: LoomKernelsAVX512.FloatTileKernel?
    #endif

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
        #if arch(x86_64)
        switch (self.path, type) {
        case (.avx512, .f16): tileKernel = LoomKernelsAVX512.f16Tile
        case (.avx512, .bf16): tileKernel = LoomKernelsAVX512.bf16Tile
        case (.avx512, .f32): tileKernel = LoomKernelsAVX512.f32Tile
        default: tileKernel = nil
        }
        #endif
    }

    public func scratchBytes(batch: Int) -> Int { 0 }

    public func multiply(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, pool: ThreadPool) {
        let (data, rows, cols, kernel) = (data, rows, cols, rowsKernel)
        if batch == 1 {
            pool.parallelFor(rows, grain: 16) { range in kernel(data, cols, range.lowerBound, range.upperBound, x, y) }
            return
        }
        #if arch(x86_64)
        if let tileKernel {
            // (row tile, column group) chunks: a row tile of up to 16 KB stays in L1 while the
            // group's activations (up to 512 KB) pass through from L2, four rows at a time. With
            // short rows a larger group re-reads each row tile fewer times: 128 activation rows
            // made 4864×896 f16 18% faster than 32 (loom bench-kernels --shape, one thread).
            let fullRows = rows & ~3, fullCols = batch & ~3
            let rowTile = max(4, min(64, (16 * 1024 / max(1, cols * type.blockBytes)) & ~3))
            let colGroup = max(16, min(128, (512 * 1024 / (4 * cols)) & ~3))
            let rowTiles = (fullRows + rowTile - 1) / rowTile, colGroups = (fullCols + colGroup - 1) / colGroup
            pool.run(chunks: rowTiles * colGroups) { chunk in
                let r0 = (chunk % rowTiles) * rowTile, c0 = (chunk / rowTiles) * colGroup
                tileKernel(data, rows, cols, r0, min(fullRows, r0 + rowTile), c0, min(fullCols, c0 + colGroup), x, y)
            }
            for c in 0..<batch where c >= fullCols || fullRows < rows {
                let start = c >= fullCols ? 0 : fullRows
                kernel(data, cols, start, rows, x + c * cols, y + c * rows)
            }
            return
        }
        #endif
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
