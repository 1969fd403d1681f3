import LoomCore
#if arch(x86_64)
import LoomKernelsAVX2
import LoomKernelsAVX512
#endif

/// Errors for weight data that does not match the shape it is used with.
public enum KernelError: Error, Equatable, CustomStringConvertible {
    case partialBlock(format: String, cols: Int, blockSize: Int)
    case dataTooSmall(format: String, needed: Int, available: Int)

    public var description: String {
        switch self {
        case let .partialBlock(format, cols, blockSize): return "\(format): \(cols) columns is not a multiple of the block size \(blockSize)"
        case let .dataTooSmall(format, needed, available): return "\(format): weights need \(needed) bytes, \(available) given"
        }
    }
}

/// How finely a quantized matrix rounds its activations (see `Q8Activations`).
public enum ActivationRounding: Sendable {
    /// 8-bit blocks of 32, or of 16 for interleaved q8_0/q4_0/q5_0: the speed of one integer dot
    /// product per weight vector.
    case standard
    /// For interleaved q8_0/q4_0/q5_0, 8-bit blocks of 32 plus the 7-bit rounding residual:
    /// activations 128 times finer for twice the integer work. Meant for the LM head, whose
    /// output is the logits themselves (nothing downstream averages its rounding away) and which
    /// costs one row per generated token; prompts that need no logits skip it. Other formats and
    /// layouts round as `.standard`.
    case fine
}

/// A block-quantized weight matrix (GGUF layout: rows of blocks), used where it lies.
///
/// `multiply` quantizes the activations to Q8 blocks in the scratch, then takes integer
/// dot products per block on the chosen `KernelPath`. Rows are spread over the pool; for a batch,
/// each thread keeps a tile of rows in L1 and sweeps the batch over it.
public final class QuantizedMatrix: WeightMatrix, @unchecked Sendable {
    public let type: QuantType
    public let rows: Int
    public let cols: Int
    public let path: KernelPath
    let data: UnsafeRawPointer  // [rows, cols / blockSize] blocks, or [rows / 8, blocks] x8 units when interleaved
    let rowBytes: Int
    /// Keeps the memory `data` points into (a mapped file or the repacked arena buffer) alive.
    private let owner: AnyObject?
    /// Whether `data` holds rows repacked into interleaved groups of 8 (see `Interleave`).
    public let isInterleaved: Bool
    /// How activations are rounded for this matrix's kernels.
    let rounding: Q8Activations.Rounding
    private let rowsKernel: RowsKernel
    #if arch(x86_64)
    /// The 4×4 tile kernel for batches, where the path has one for the type.
    private let tileKernel: LoomKernelsAVX512.TileKernel?
    /// The kernel for interleaved data, used for every batch size.
    private let interleavedKernel: LoomKernelsAVX512.InterleavedKernel?
    /// The expanding kernel for K-format batches (groups of 8 rows).
    private let expandedKernel: LoomKernelsAVX512.ExpandedKernel?
    #endif

    /// y[start..<end] = W[start..<end, :]·x for one quantized activation row.
    typealias RowsKernel = (_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                            _ x: Q8Row, _ y: UnsafeMutablePointer<Float>) -> Void

    public var byteCount: Int { rows * rowBytes }
    public var formatName: String { type.name }
    public var storedBlocks: (type: QuantType, bytes: UnsafeRawBufferPointer)? {
        isInterleaved ? nil : (type, UnsafeRawBufferPointer(start: data, count: byteCount))
    }

    public func writeStoredBlocks(into out: UnsafeMutableRawPointer) -> QuantType? {
        guard isInterleaved else {
            out.copyMemory(from: data, byteCount: byteCount)
            return type
        }
        let blocks = cols / type.blockSize
        for row in 0..<rows {
            for b in 0..<blocks {
                Interleave.unpackBlock(type, data, row: row, block: b, blocks: blocks, into: out + row * rowBytes + b * type.blockBytes)
            }
        }
        return type
    }
    public let isArenaResident: Bool

    /// Wraps `byteCount` bytes at `data` as a [rows, cols] matrix of `type` blocks.
    ///
    /// With `repackingInto`, q8_0, q4_0, q5_0 and K-format (q4_K, q5_K, q6_K) matrices whose rows are a multiple of 8 are copied once
    /// into an interleaved layout in that arena (label `weights`, the same byte count) when the path
    /// is AVX-512 VNNI or AVX2; afterwards the original bytes are never read, so
    /// mapped pages stay cold. `activations` chooses how finely those kernels round their input.
    /// `arenaResident` says that `data` itself already lies in an arena that counted it (blocks
    /// rewritten from another layout at load). While repacking, each part of `data` already
    /// copied goes to `consumed` (a mapped file drops those pages from the resident set).
    public init(type: QuantType, data: UnsafeRawPointer, byteCount: Int, rows: Int, cols: Int,
                owner: AnyObject?, path: KernelPath = .active, repackingInto arena: MemoryArena? = nil,
                activations: ActivationRounding = .standard, arenaResident: Bool = false,
                consumed: ((UnsafeRawBufferPointer) -> Void)? = nil) throws {
        precondition(type.blockSize > 1, "use FloatMatrix for \(type.name)")
        guard cols % type.blockSize == 0, cols % 32 == 0 else {
            throw KernelError.partialBlock(format: type.name, cols: cols, blockSize: type.blockSize)
        }
        let needed = rows * type.rowBytes(cols)
        guard byteCount >= needed else { throw KernelError.dataTooSmall(format: type.name, needed: needed, available: byteCount) }
        self.type = type
        self.rows = rows
        self.cols = cols
        self.rowBytes = type.rowBytes(cols)
        self.path = path.isSupported ? path : .portable
        #if arch(x86_64)
        if let arena, Self.repacks(type, rows: rows, path: self.path), let kernel = Self.interleavedKernel(type, self.path) {
            let buffer = try arena.allocate(UInt8.self, count: needed, label: "weights")
            Interleave.pack(type, data, rows: rows, blocks: cols / type.blockSize, into: buffer.pointer, consumed: consumed)
            self.data = UnsafeRawPointer(buffer.pointer)
            self.owner = buffer
            self.isInterleaved = true
            self.interleavedKernel = kernel
        } else {
            self.data = data
            self.owner = owner
            self.isInterleaved = false
            self.interleavedKernel = nil
        }
        // The tile and expanding kernels read the native layout.
        self.tileKernel = isInterleaved ? nil : Self.tileKernel(type, self.path)
        self.expandedKernel = !isInterleaved && rows % 8 == 0 ? Self.expandedKernel(type, self.path) : nil
        #else
        self.data = data
        self.owner = owner
        self.isInterleaved = false
        #endif
        self.isArenaResident = isInterleaved || arenaResident
        self.rowsKernel = Self.kernel(type, self.path)
        // The K formats' x8 kernel takes blocks of 32 (its slices have their own scales).
        self.rounding = !isInterleaved || type.blockSize != 32 ? .blocks : activations == .fine ? .residual : .halves
    }

    /// Whether a matrix of `type` with `rows` rows is repacked into the arena it is given on
    /// `path` (an interleaved kernel exists and the rows fill groups of 8).
    public static func repacks(_ type: QuantType, rows: Int, path: KernelPath = .active) -> Bool {
        #if arch(x86_64)
        return rows % 8 == 0 && interleavedKernel(type, path.isSupported ? path : .portable) != nil
        #else
        return false
        #endif
    }

    public func scratchBytes(batch: Int) -> Int { Self.scratchBytes(batch: batch, cols: cols) }

    /// The scratch any quantized matrix of `cols` columns needs for `batch` input rows.
    public static func scratchBytes(batch: Int, cols: Int) -> Int { Q8Activations.scratchBytes(batch: batch, cols: cols) }


    public func multiply(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, pool: ThreadPool) {
        guard let scratch, batch > 0 else { return }
        if batch == 1 {
            let work = decodeWork(quantizeForDecode(x, scratch: scratch, pool: pool), into: y)
            pool.split(work.units, work.run)
            return
        }
        let activations = quantizeActivations(x, batch: batch, scratch: scratch, pool: pool)
        #if arch(x86_64)
        if let interleavedKernel {
            multiplyInterleaved(interleavedKernel, activations, batch: batch, y: y, pool: pool)
            return
        }
        #endif
        let blocks = cols / type.blockSize
        let (data, rowBytes, rows, kernel) = (data, rowBytes, rows, rowsKernel)
        #if arch(x86_64)
        // The interleaved kernels keep a row's arithmetic whatever the batch; the expanding and
        // 4×4 tile kernels do not, so they run only without batch invariance.
        if let expandedKernel, !BatchInvariance.enabled {
            // (8-row group, column group) chunks; each chunk expands its rows once for 64 activation rows.
            let groups = rows / 8, colGroup = 64, colGroups = (batch + colGroup - 1) / colGroup
            pool.run(chunks: groups * colGroups) { chunk in
                let g = chunk % groups, c0 = (chunk / groups) * colGroup
                expandedKernel(data, rowBytes, rows, g, g + 1, c0, min(batch, c0 + colGroup), blocks,
                               activations.q, activations.d, activations.sums, y)
            }
            return
        }
        if let tileKernel, !BatchInvariance.enabled {
            multiplyTiled(tileKernel, activations, batch: batch, y: y, pool: pool)
            return
        }
        #endif
        // A tile of rows stays in L1 while the whole batch streams past it; each activation row
        // goes through the decode kernel, so its result is the one it gets alone.
        let tile = max(4, (16 * 1024) / max(1, rowBytes))
        let tiles = (rows + tile - 1) / tile
        pool.run(chunks: tiles) { t in
            let start = t * tile, end = min(rows, start + tile)
            for b in 0..<batch {
                kernel(data, rowBytes, start, end, blocks, activations.row(b), y + b * rows)
            }
        }
    }

    /// Whether `other` reads the same quantized activations as this matrix (shape, path and rounding).
    func sharesActivations(with other: QuantizedMatrix) -> Bool {
        cols == other.cols && path == other.path && rounding == other.rounding
    }

    /// One activation row quantized as this matrix's decode kernels read it.
    func quantizeForDecode(_ x: UnsafePointer<Float>, scratch: UnsafeMutableRawPointer, pool: ThreadPool) -> Q8Activations {
        quantizeActivations(x, batch: 1, scratch: scratch, pool: pool)
    }

    /// `batch` activation rows [batch, cols] quantized as this matrix's kernels read them.
    func quantizeActivations(_ x: UnsafePointer<Float>, batch: Int, scratch: UnsafeMutableRawPointer, pool: ThreadPool) -> Q8Activations {
        let activations = Q8Activations(scratch: scratch, batch: batch, cols: cols)
        activations.quantize(x, path: path, rounding: rounding, pool: pool)
        return activations
    }

    /// `multiply` for `batch` quantized activation rows in units of 8 weight rows, for the x8
    /// kernels (nil for other layouts): every row's arithmetic is the kernel's for that row
    /// alone, whatever the units are split into.
    func batchWork(_ activations: Q8Activations, batch: Int, into y: UnsafeMutablePointer<Float>) -> DecodeWork? {
        #if arch(x86_64)
        guard let interleavedKernel else { return nil }
        let (data, rows) = (data, rows)
        let blocks = cols / type.blockSize
        let (xr, xrs) = residual(activations)
        return DecodeWork(units: rows / 8) { range in
            interleavedKernel(data, rows, range.lowerBound, range.upperBound, 0, batch, blocks, activations.q, activations.d, activations.sums, xr, xrs, y)
        }
        #else
        return nil
        #endif
    }

    /// The residual arrays the x8 kernels take with `.residual` rounding, else nil.
    private func residual(_ activations: Q8Activations) -> (UnsafePointer<Int8>?, UnsafePointer<Int32>?) {
        rounding == .residual ? (UnsafePointer(activations.r), UnsafePointer(activations.rsums)) : (nil, nil)
    }

    /// `multiply` for one quantized activation row, in units of 8 rows (interleaved) or 4 rows.
    func decodeWork(_ activations: Q8Activations, into y: UnsafeMutablePointer<Float>) -> DecodeWork {
        if let work = batchWork(activations, batch: 1, into: y) { return work }
        let (data, rowBytes, rows, kernel) = (data, rowBytes, rows, rowsKernel)
        let blocks = cols / type.blockSize
        let row = activations.row(0)
        return DecodeWork(units: (rows + 3) / 4) { range in
            kernel(data, rowBytes, 4 * range.lowerBound, min(rows, 4 * range.upperBound), blocks, row, y)
        }
    }

    #if arch(x86_64)
    /// Batches on the tile kernel: 4 weight rows × 4 activation rows per step. Work is split into
    /// (row tile, column group) chunks so a thread's weight rows stay in L1 and the column group's
    /// activations in L2; rows and columns beyond multiples of 4 go through the row kernel.
    private func multiplyTiled(_ tileKernel: LoomKernelsAVX512.TileKernel, _ activations: Q8Activations,
                               batch: Int, y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let (data, rowBytes, rows, kernel) = (data, rowBytes, rows, rowsKernel)
        let blocks = cols / type.blockSize
        let fullRows = rows & ~3, fullCols = batch & ~3
        let rowTile = max(4, min(64, (24 * 1024 / max(1, rowBytes)) & ~3))
        let colGroup = 64
        let rowTiles = (fullRows + rowTile - 1) / rowTile, colGroups = (fullCols + colGroup - 1) / colGroup
        pool.run(chunks: rowTiles * colGroups) { chunk in
            let r0 = (chunk % rowTiles) * rowTile, c0 = (chunk / rowTiles) * colGroup
            tileKernel(data, rowBytes, rows, r0, min(fullRows, r0 + rowTile), c0, min(fullCols, c0 + colGroup), blocks,
                       activations.q, activations.d, activations.sums, y)
        }
        for c in 0..<batch where c >= fullCols || fullRows < rows {
            let start = c >= fullCols ? 0 : fullRows
            pool.parallelFor(rows - start, grain: 16) { range in
                kernel(data, rowBytes, start + range.lowerBound, start + range.upperBound, blocks, activations.row(c), y + c * rows)
            }
        }
    }

    /// Interleaved data (groups of 8 rows) for a batch: (group tile × column group) chunks so the
    /// tile's units stay in L1/L2 while the column group's activations stay in L2.
    private func multiplyInterleaved(_ kernel: LoomKernelsAVX512.InterleavedKernel, _ activations: Q8Activations,
                                     batch: Int, y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let (data, rows) = (data, rows)
        let blocks = cols / type.blockSize, groups = rows / 8
        let (xr, xrs) = residual(activations)
        let colGroup = Self.interleavedColumnGroup, colGroups = (batch + colGroup - 1) / colGroup
        // One column group (2 to 64 rows: batched decode, speculative verification): each thread
        // takes a contiguous run of groups, so its weights stream in order.
        if colGroups == 1, let work = batchWork(activations, batch: batch, into: y) {
            pool.split(work.units, work.run)
            return
        }
        // Small batches (a decode step of several sequences) have one column group: shrink the
        // tiles so every thread gets several, or a 128-row projection would run on one thread.
        let fitting = max(1, min(16, 16 * 1024 / max(1, 8 * rowBytes)))
        let groupTile = max(1, min(fitting, groups / max(1, 4 * pool.threadCount / colGroups)))
        let groupTiles = (groups + groupTile - 1) / groupTile
        pool.run(chunks: groupTiles * colGroups) { chunk in
            let g0 = (chunk % groupTiles) * groupTile, c0 = (chunk / groupTiles) * colGroup
            kernel(data, rows, g0, min(groups, g0 + groupTile), c0, min(batch, c0 + colGroup), blocks,
                   activations.q, activations.d, activations.sums, xr, xrs, y)
        }
    }

    /// Activation rows the x8 kernels take per chunk of a batch: the weights of a chunk's groups
    /// stay in L1/L2 while that many rows' activations pass from L2.
    static let interleavedColumnGroup = 64

    /// The x8 kernel for `type` on `path` (AVX-512 VNNI or AVX2).
    static func interleavedKernel(_ type: QuantType, _ path: KernelPath) -> LoomKernelsAVX512.InterleavedKernel? {
        switch (path, type) {
        case (.avx512, .q8_0): return LoomKernelsAVX512.q8_0x8Rows
        case (.avx512, .q4_0): return LoomKernelsAVX512.q4_0x8Rows
        case (.avx512, .q5_0): return LoomKernelsAVX512.q5_0x8Rows
        case (.avx512, .mxfp4): return LoomKernelsAVX512.mxfp4x8Rows
        case (.avx2, .mxfp4): return LoomKernelsAVX2.mxfp4x8Rows
        case (.avx512, .iq4_nl): return LoomKernelsAVX512.iq4_nlx8Rows
        case (.avx2, .iq4_nl): return LoomKernelsAVX2.iq4_nlx8Rows
        case (.avx512, .iq4_xs): return LoomKernelsAVX512.iq4_xsx8Rows
        case (.avx2, .iq4_xs): return LoomKernelsAVX2.iq4_xsx8Rows
        case (.avx2, .q8_0): return LoomKernelsAVX2.q8_0x8Rows
        case (.avx2, .q4_0): return LoomKernelsAVX2.q4_0x8Rows
        case (.avx2, .q5_0): return LoomKernelsAVX2.q5_0x8Rows
        case (.avx512, .q4_K): return LoomKernelsAVX512.q4_Kx8Rows
        case (.avx2, .q4_K): return LoomKernelsAVX2.q4_Kx8Rows
        case (.avx512, .q5_K): return LoomKernelsAVX512.q5_Kx8Rows
        case (.avx2, .q5_K): return LoomKernelsAVX2.q5_Kx8Rows
        case (.avx512, .q6_K): return LoomKernelsAVX512.q6_Kx8Rows
        case (.avx2, .q6_K): return LoomKernelsAVX2.q6_Kx8Rows
        default: return nil
        }
    }

    /// The expanding K-format batch kernel for `type` on `path` (AVX-512 VNNI or AVX2).
    static func expandedKernel(_ type: QuantType, _ path: KernelPath) -> LoomKernelsAVX512.ExpandedKernel? {
        switch (path, type) {
        case (.avx512, .q4_K): return LoomKernelsAVX512.q4_KExpanded
        case (.avx512, .q5_K): return LoomKernelsAVX512.q5_KExpanded
        case (.avx512, .q6_K): return LoomKernelsAVX512.q6_KExpanded
        case (.avx2, .q4_K): return LoomKernelsAVX2.q4_KExpanded
        case (.avx2, .q5_K): return LoomKernelsAVX2.q5_KExpanded
        case (.avx2, .q6_K): return LoomKernelsAVX2.q6_KExpanded
        default: return nil
        }
    }

    /// The 4×4 batch tile for `type` on `path`. AVX2 has no vpdpbusd: its stand-in (vpmaddubsw
    /// pairs) saturates above 2·127·|x| per pair, so it takes only formats whose unsigned weights
    /// stay below 64 (nibbles, five and six bits); q8_0 and iq4_nl (bytes up to 255) keep the
    /// row kernels there.
    static func tileKernel(_ type: QuantType, _ path: KernelPath) -> LoomKernelsAVX512.TileKernel? {
        switch (path, type) {
        case (.avx512, .q8_0): return LoomKernelsAVX512.q8_0Tile
        case (.avx512, .q4_0): return LoomKernelsAVX512.q4_0Tile
        case (.avx512, .q4_1): return LoomKernelsAVX512.q4_1Tile
        case (.avx512, .q5_0): return LoomKernelsAVX512.q5_0Tile
        case (.avx512, .q5_1): return LoomKernelsAVX512.q5_1Tile
        case (.avx512, .iq4_nl): return LoomKernelsAVX512.iq4_nlTile
        case (.avx512, .iq4_xs): return LoomKernelsAVX512.iq4_xsTile
        case (.avx512, .q4_K): return LoomKernelsAVX512.q4_KTile
        case (.avx512, .q5_K): return LoomKernelsAVX512.q5_KTile
        case (.avx512, .q6_K): return LoomKernelsAVX512.q6_KTile
        case (.avx2, .q4_0): return LoomKernelsAVX2.q4_0Tile
        case (.avx2, .q4_1): return LoomKernelsAVX2.q4_1Tile
        case (.avx2, .q5_0): return LoomKernelsAVX2.q5_0Tile
        case (.avx2, .q5_1): return LoomKernelsAVX2.q5_1Tile
        case (.avx2, .q4_K): return LoomKernelsAVX2.q4_KTile
        case (.avx2, .q5_K): return LoomKernelsAVX2.q5_KTile
        case (.avx2, .q6_K): return LoomKernelsAVX2.q6_KTile
        default: return nil
        }
    }
    #endif

    public func row(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        guard isInterleaved else {
            Dequantize.run(type, data + index * rowBytes, count: cols, into: out)
            return
        }
        let blocks = cols / type.blockSize
        withUnsafeTemporaryAllocation(byteCount: type.blockBytes, alignment: 16) { raw in  // one native block
            for b in 0..<blocks {
                Interleave.unpackBlock(type, data, row: index, block: b, blocks: blocks, into: raw.baseAddress!)
                Dequantize.run(type, raw.baseAddress!, count: type.blockSize, into: out + type.blockSize * b)
            }
        }
    }

    static func kernel(_ type: QuantType, _ path: KernelPath) -> RowsKernel {
        #if arch(x86_64)
        typealias Raw = (UnsafeRawPointer, Int, Int, Int, Int, UnsafePointer<Int8>, UnsafePointer<Float>, UnsafePointer<Int32>, UnsafeMutablePointer<Float>) -> Void
        func wrap(_ f: @escaping Raw) -> RowsKernel {
            { w, rowBytes, start, end, blocks, x, y in f(w, rowBytes, start, end, blocks, x.q, x.d, x.sums, y) }
        }
        let simd: Raw?
        switch (path, type) {
        case (.avx512, .q8_0): simd = LoomKernelsAVX512.q8_0Rows
        case (.avx512, .q4_0): simd = LoomKernelsAVX512.q4_0Rows
        case (.avx512, .q4_1): simd = LoomKernelsAVX512.q4_1Rows
        case (.avx512, .q5_0): simd = LoomKernelsAVX512.q5_0Rows
        case (.avx512, .q5_1): simd = LoomKernelsAVX512.q5_1Rows
        case (.avx512, .iq4_nl): simd = LoomKernelsAVX512.iq4_nlRows
        case (.avx512, .iq4_xs): simd = LoomKernelsAVX512.iq4_xsRows
        case (.avx512, .mxfp4): simd = LoomKernelsAVX512.mxfp4Rows
        case (.avx512, .q4_K): simd = LoomKernelsAVX512.q4_KRows
        case (.avx512, .q5_K): simd = LoomKernelsAVX512.q5_KRows
        case (.avx512, .q6_K): simd = LoomKernelsAVX512.q6_KRows
        case (.avx2, .q8_0): simd = LoomKernelsAVX2.q8_0Rows
        case (.avx2, .q4_0): simd = LoomKernelsAVX2.q4_0Rows
        case (.avx2, .q4_1): simd = LoomKernelsAVX2.q4_1Rows
        case (.avx2, .q5_0): simd = LoomKernelsAVX2.q5_0Rows
        case (.avx2, .q5_1): simd = LoomKernelsAVX2.q5_1Rows
        case (.avx2, .iq4_nl): simd = LoomKernelsAVX2.iq4_nlRows
        case (.avx2, .iq4_xs): simd = LoomKernelsAVX2.iq4_xsRows
        case (.avx2, .mxfp4): simd = LoomKernelsAVX2.mxfp4Rows
        case (.avx2, .q4_K): simd = LoomKernelsAVX2.q4_KRows
        case (.avx2, .q5_K): simd = LoomKernelsAVX2.q5_KRows
        case (.avx2, .q6_K): simd = LoomKernelsAVX2.q6_KRows
        default: simd = nil
        }
        if let simd { return wrap(simd) }
        #endif
        let unpack = BlockUnpack.unpacker(type)
        return { w, rowBytes, start, end, blocks, x, y in
            for r in start..<end { y[r] = PortableDot.row(type, unpack, w + r * rowBytes, blocks: blocks, x: x) }
        }
    }
}
