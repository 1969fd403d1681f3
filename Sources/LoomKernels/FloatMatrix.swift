import LoomCore
#if arch(x86_64)
import LoomKernelsAVX2
import LoomKernelsAVX512
import LoomKernelsBF16C
#endif

/// An f32, f16 or bf16 weight matrix, used where it lies. Activations stay f32; weights are
/// widened to f32 in registers and accumulated with FMA. On a CPU with AVX-512 BF16, bf16 prompt
/// batches instead split each activation into two bf16 terms (hi = bf16(x), lo = bf16(x − hi),
/// together about 16 significant bits) and use vdpbf16ps (LoomKernelsBF16C).
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
    /// Whether prompt batches use the split-activation vdpbf16ps kernels.
    public let usesBF16DotProducts: Bool
    /// Whether `data` lies in an arena that has counted it (a matrix rearranged at load).
    public let isArenaResident: Bool

    /// y[start..<end] = W[start..<end, :]·x.
    typealias RowsKernel = (_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int,
                            _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) -> Void

    public var byteCount: Int { rows * cols * type.blockBytes }
    public var formatName: String { type.name }
    public var storedBlocks: (type: QuantType, bytes: UnsafeRawBufferPointer)? { (type, UnsafeRawBufferPointer(start: data, count: byteCount)) }

    /// - Parameter bf16DotProducts: use AVX-512 BF16 dot products for bf16 prompt batches when
    ///   the CPU has them. They round each activation to two bf16 terms for batches only, so a
    ///   batch's rows differ from their decode products: off by default under `BatchInvariance`.
    ///   `path` is `.avx512` and the CPU has them; false keeps the FMA tile (for benchmarks).
    public init(type: QuantType, data: UnsafeRawPointer, byteCount: Int, rows: Int, cols: Int,
                owner: AnyObject?, arenaResident: Bool = false, path: KernelPath = .active,
                bf16DotProducts: Bool = !BatchInvariance.enabled) throws {
        precondition(type.blockSize == 1, "use QuantizedMatrix for \(type.name)")
        let needed = rows * cols * type.blockBytes
        guard byteCount >= needed else { throw KernelError.dataTooSmall(format: type.name, needed: needed, available: byteCount) }
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.owner = owner
        isArenaResident = arenaResident
        self.path = path.isSupported ? path : .portable
        var rowsKernel = Self.kernel(type, self.path)
        #if arch(x86_64)
        switch (self.path, type) {
        case (.avx512, .f16): tileKernel = LoomKernelsAVX512.f16Tile
        case (.avx512, .bf16): tileKernel = LoomKernelsAVX512.bf16Tile
        case (.avx512, .f32): tileKernel = LoomKernelsAVX512.f32Tile
        case (.avx2, .f16): tileKernel = LoomKernelsAVX2.f16Tile8
        case (.avx2, .bf16): tileKernel = LoomKernelsAVX2.bf16Tile8
        case (.avx2, .f32): tileKernel = LoomKernelsAVX2.f32Tile8
        default: tileKernel = nil
        }
        // With batch invariance, decode and the tiles' leftovers sum each row as the tile does.
        if BatchInvariance.enabled, tileKernel != nil {
            switch (self.path, type) {
            case (.avx512, .f16): rowsKernel = LoomKernelsAVX512.f16TileColumn
            case (.avx512, .bf16): rowsKernel = LoomKernelsAVX512.bf16TileColumn
            case (.avx512, _): rowsKernel = LoomKernelsAVX512.f32TileColumn
            case (_, .f16): rowsKernel = LoomKernelsAVX2.f16TileColumn8
            case (_, .bf16): rowsKernel = LoomKernelsAVX2.bf16TileColumn8
            default: rowsKernel = LoomKernelsAVX2.f32TileColumn8
            }
        }
        #endif
        self.rowsKernel = rowsKernel
        usesBF16DotProducts = bf16DotProducts && Self.hasBF16DotProducts(type, self.path)
    }

    /// Whether a `type` matrix on `path` would use the vdpbf16ps kernels on this CPU.
    static func hasBF16DotProducts(_ type: QuantType, _ path: KernelPath) -> Bool {
        #if arch(x86_64)
        return type == .bf16 && path == .avx512 && CPUFeatures.current.avx512bf16
        #else
        return false
        #endif
    }

    /// Bytes of split activations ([batch, 2, cols rounded up to 32] bf16) a `type` matrix with
    /// `cols` columns needs on `path` for a prompt batch; zero for decode and for the FMA kernels.
    /// The planner sizes matrices it has no file for with this.
    public static func scratchBytes(type: QuantType, cols: Int, batch: Int, path: KernelPath = .active,
                                    dotProducts: Bool = !BatchInvariance.enabled) -> Int {
        guard batch > 1, dotProducts, hasBF16DotProducts(type, path.isSupported ? path : .portable) else { return 0 }
        return batch * 2 * ((cols + 31) & ~31) * 2
    }

    public func scratchBytes(batch: Int) -> Int {
        usesBF16DotProducts ? Self.scratchBytes(type: type, cols: cols, batch: batch, path: path, dotProducts: true) : 0
    }

    public func multiply(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, pool: ThreadPool) {
        let (data, rows, cols, kernel) = (data, rows, cols, rowsKernel)
        if batch == 1 {
            let work = decodeWork(x, into: y)
            pool.split(work.units, work.run)
            return
        }
        #if arch(x86_64)
        if let tileKernel {
            // Rows r0..<r1 against activation rows c0..<c1, and rows start..<end against
            // activation row c for what the tiles leave over. The AVX-512 tile takes multiples of
            // 4 of both; the AVX2 tile any rows (blocks of 3) and pairs of activation rows.
            let tile: (_ r0: Int, _ r1: Int, _ c0: Int, _ c1: Int) -> Void
            let leftover: (_ start: Int, _ end: Int, _ c: Int) -> Void
            if usesBF16DotProducts, let scratch {
                let stride = loom_bf16_split_stride(cols)
                let xs = scratch.assumingMemoryBound(to: UInt16.self)  // [batch, 2, stride] bf16 hi and lo
                pool.parallelFor(batch, grain: 16) { range in loom_bf16_split(x, cols, range.lowerBound, range.upperBound, xs) }
                let w = data.assumingMemoryBound(to: UInt16.self)
                tile = { r0, r1, c0, c1 in loom_bf16_tile(w, rows, cols, r0, r1, c0, c1, xs, y) }
                leftover = { start, end, c in loom_bf16_rows(w, cols, start, end, xs + c * 2 * stride, y + c * rows) }
            } else {
                tile = { r0, r1, c0, c1 in tileKernel(data, rows, cols, r0, r1, c0, c1, x, y) }
                leftover = { start, end, c in kernel(data, cols, start, end, x + c * cols, y + c * rows) }
            }
            // (row tile, column group) chunks: a row tile of up to 16 KB stays in L1 while the
            // group's activations (up to 512 KB) pass through from L2, four rows at a time. With
            // short rows a larger group re-reads each row tile fewer times: 128 activation rows
            // made 4864×896 f16 18% faster than 32 (loom bench-kernels --shape, one thread).
            // On AVX2 the row tile is a multiple of the tile's 3-row blocks, so that a 4-row tile
            // (rows of 8 KB and more, as ffn_down's) does not leave a 1-row block in every tile.
            let wide = path == .avx512
            let fullRows = wide ? rows & ~3 : rows, fullCols = wide ? batch & ~3 : batch & ~1
            let fitting = 16 * 1024 / max(1, cols * type.blockBytes)
            let rowTile = wide ? max(4, min(64, fitting & ~3)) : max(3, min(63, fitting / 3 * 3))
            let colGroup = max(16, min(128, (512 * 1024 / (4 * cols)) & ~3))
            let rowTiles = (fullRows + rowTile - 1) / rowTile, colGroups = (fullCols + colGroup - 1) / colGroup
            pool.run(chunks: rowTiles * colGroups) { chunk in
                let r0 = (chunk % rowTiles) * rowTile, c0 = (chunk / rowTiles) * colGroup
                tile(r0, min(fullRows, r0 + rowTile), c0, min(fullCols, c0 + colGroup))
            }
            for c in 0..<batch where c >= fullCols || fullRows < rows {
                leftover(c >= fullCols ? 0 : fullRows, rows, c)
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

    /// `multiply` for one activation row, in units of 4 rows.
    func decodeWork(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) -> DecodeWork {
        let (data, rows, cols, kernel) = (data, rows, cols, rowsKernel)
        return DecodeWork(units: (rows + 3) / 4) { range in
            kernel(data, cols, 4 * range.lowerBound, min(rows, 4 * range.upperBound), x, y)
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
